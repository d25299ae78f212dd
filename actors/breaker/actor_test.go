package breaker

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/messages"
)

type actorHarness struct {
	sys         *actor.ActorSystem
	pid         *actor.PID
	a           *Actor
	actors      atomic.Int64
	timers      atomic.Int64
	crash       atomic.Int32 // crashes left to inject at transitions
	mu          sync.Mutex
	transitions []string
}

func newActorHarness(t *testing.T, p Policy) *actorHarness {
	h := &actorHarness{sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))}
	a, err := NewActor("db", p, WithActorSeed(1), WithActorGauges(&h.actors, &h.timers),
		WithActorOnTransition(func(tr Transition, v *View) {
			if h.crash.Add(-1) >= 0 {
				panic("injected")
			}
			h.mu.Lock()
			h.transitions = append(h.transitions, tr.From.String()+">"+tr.To.String())
			h.mu.Unlock()
		}))
	require.NoError(t, err)
	h.a = a
	h.pid = h.sys.Root.Spawn(a.Props())
	<-a.Ready()
	t.Cleanup(func() {
		a.Close()
		require.NoError(t, h.sys.Root.StopFuture(h.pid).Wait())
		synctest.Wait()
		assert.Zero(t, h.actors.Load())
		assert.Zero(t, h.timers.Load(), "the timer stops with the actor")
		h.sys.Shutdown()
	})
	return h
}

func (h *actorHarness) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.transitions...)
}

type waiter struct {
	granted chan Permit
	refused chan *View
}

func newWaiter() *waiter { return &waiter{granted: make(chan Permit, 1), refused: make(chan *View, 1)} }

func (w *waiter) Granted(p Permit) { w.granted <- p }
func (w *waiter) Refused(v *View)  { w.refused <- v }

func TestBreakerActorPublishesAndMovesOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newActorHarness(t, Policy{FailureThreshold: 2, OpenTimeout: time.Minute})
		p := h.a.View().Admit(time.Now()).Permit
		h.a.Report(p, messages.Failure, 0)
		h.a.Report(p, messages.Failure, 0)
		synctest.Wait()
		v := h.a.View()
		require.Equal(t, messages.Open, v.State)
		assert.Equal(t, "db", v.Name)
		a := v.Admit(time.Now().Add(10 * time.Second))
		assert.Equal(t, Rejected, a.Verdict)
		assert.Equal(t, 50*time.Second, a.RetryAfter)
		err := v.OpenError(a)
		assert.ErrorIs(t, err, messages.ErrCircuitOpen)
		assert.Equal(t, 2, err.FailureCount)

		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, messages.HalfOpen, h.a.View().State, "the actor's timer moves it on time")
		assert.Equal(t, []string{"closed>open", "open>half-open"}, h.seen())
	})
}

func TestBreakerActorGrantsAndRefusesProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newActorHarness(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenProbes: 1})
		h.a.Report(h.a.View().Admit(time.Now()).Permit, messages.Failure, 0)
		synctest.Wait()
		time.Sleep(time.Second)
		assert.Equal(t, ProbeNeeded, h.a.View().Admit(time.Now()).Verdict)

		w1, w2 := newWaiter(), newWaiter()
		require.True(t, h.a.RequestProbe(w1))
		require.True(t, h.a.RequestProbe(w2))
		synctest.Wait()
		p := <-w1.granted
		assert.True(t, p.Probe)
		v := <-w2.refused
		assert.Equal(t, messages.HalfOpen, v.State)
		assert.Equal(t, Rejected, h.a.View().Admit(time.Now()).Verdict, "no permit left")

		h.a.Report(p, messages.Success, 0)
		synctest.Wait()
		assert.Equal(t, messages.Closed, h.a.View().State)
	})
}

func TestBreakerActorControlAndCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newActorHarness(t, Policy{FailureThreshold: 1, OpenTimeout: time.Hour})
		// Two crashes at the transition the control causes: the actor is
		// restarted each time, the message re-delivered, the state kept.
		h.crash.Store(2)
		done := make(chan messages.State, 1)
		require.True(t, h.a.Control(ForceOpen, done))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, messages.ForcedOpen, <-done)
		assert.Equal(t, int64(1), h.actors.Load())
		assert.Equal(t, Rejected, h.a.View().Admit(time.Now()).Verdict)

		h.a.Control(Disable, done)
		synctest.Wait()
		assert.Equal(t, messages.Disabled, <-done)
		h.a.Control(Reset, done)
		synctest.Wait()
		assert.Equal(t, messages.Closed, <-done)
		h.sys.Root.Send(h.pid, "unexpected") // logged, changes nothing
		synctest.Wait()
		assert.Equal(t, messages.Closed, h.a.View().State)
	})
}

func TestBreakerActorSendsNothingOnceClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newActorHarness(t, Policy{FailureThreshold: 1})
		h.a.Close()
		assert.False(t, h.a.RequestProbe(newWaiter()))
		assert.False(t, h.a.Control(Reset, nil))
		h.a.Report(Permit{}, messages.Failure, 0)
		synctest.Wait()
		assert.Equal(t, messages.Closed, h.a.View().State)
	})
}

func TestNeedsReport(t *testing.T) {
	closed := &View{Snapshot: Snapshot{State: messages.Closed, Generation: 3}}
	run := &View{Snapshot: Snapshot{State: messages.Closed, Generation: 3, Counts: Counts{ConsecutiveFailures: 1}}}
	rate := &View{Snapshot: Snapshot{State: messages.Closed, Generation: 3}, everyOutcome: true}
	seen := &View{Snapshot: Snapshot{State: messages.Closed, Generation: 3}, failuresSeen: 4}
	p := Permit{Generation: 3}
	tests := []struct {
		name string
		v    *View
		p    Permit
		o    messages.Outcome
		sent uint64
		want bool
	}{
		{"failure", closed, p, messages.Failure, 0, true},
		{"success, nothing to reset", closed, p, messages.Success, 0, false},
		{"ignored, nothing to reset", closed, p, messages.Ignored, 0, false},
		{"success ends a run", run, p, messages.Success, 0, true},
		{"success while a failure is on its way", closed, p, messages.Success, 1, true},
		{"success after every failure was seen", seen, p, messages.Success, 4, false},
		{"rate rule counts every outcome", rate, p, messages.Success, 0, true},
		{"probe", closed, Permit{Generation: 3, Probe: true, Seq: 1}, messages.Success, 0, true},
		{"ignored probe gives its permit back", closed, Permit{Generation: 3, Probe: true, Seq: 1}, messages.Ignored, 0, true},
		{"success of an older generation", run, Permit{Generation: 2}, messages.Success, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.v.NeedsReport(tt.p, tt.o, tt.sent))
		})
	}
}

func TestAdmit(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		s     Snapshot
		now   time.Time
		want  Verdict
		after time.Duration
	}{
		{"closed", Snapshot{State: messages.Closed, Generation: 7}, t0, Admitted, 0},
		{"disabled", Snapshot{State: messages.Disabled, Generation: 7}, t0, Admitted, 0},
		{"open", Snapshot{State: messages.Open, OpenUntil: t0.Add(30 * time.Second)}, t0.Add(10 * time.Second), Rejected, 20 * time.Second},
		{"open period over", Snapshot{State: messages.Open, OpenUntil: t0}, t0, ProbeNeeded, 0},
		{"half-open with a permit left", Snapshot{State: messages.HalfOpen, ProbesInFlight: 1}, t0, ProbeNeeded, 0},
		{"half-open, permits taken", Snapshot{State: messages.HalfOpen, ProbesInFlight: 2}, t0, Rejected, 0},
		{"forced open", Snapshot{State: messages.ForcedOpen}, t0, Rejected, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &View{Snapshot: tt.s, HalfOpenProbes: 2}
			a := v.Admit(tt.now)
			assert.Equal(t, tt.want, a.Verdict)
			assert.Equal(t, tt.after, a.RetryAfter)
			if a.Verdict == Rejected && tt.s.State == messages.Open {
				assert.Equal(t, tt.s.OpenUntil, a.Until, "an open breaker's verdict holds until its period ends")
			} else {
				assert.True(t, a.Until.IsZero())
			}
			if a.Verdict == Admitted {
				assert.Equal(t, Permit{Generation: 7}, a.Permit)
			}
		})
	}
}
