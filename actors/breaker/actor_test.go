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

// gate is a Gate holding string tickets.
type gate struct {
	mu       sync.Mutex
	waiting  []any
	admitted []any
	refused  []any
}

func (g *gate) NextWaiting() (any, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		return nil, false
	}
	t := g.waiting[0]
	g.waiting = g.waiting[1:]
	return t, true
}

func (g *gate) wait(tickets ...any) {
	g.mu.Lock()
	g.waiting = append(g.waiting, tickets...)
	g.mu.Unlock()
}

func (g *gate) Admit(t any, _ Permit) { g.mu.Lock(); g.admitted = append(g.admitted, t); g.mu.Unlock() }
func (g *gate) Refuse(t any, _ *View) {
	g.mu.Lock()
	g.refused = append(g.refused, t)
	g.mu.Unlock()
}

func (g *gate) results() (admitted, refused []any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]any(nil), g.admitted...), append([]any(nil), g.refused...)
}

type actorHarness struct {
	sys         *actor.ActorSystem
	pid         *actor.PID
	core        *Core
	gate        *gate
	timers      atomic.Int64
	actors      atomic.Int64
	crash       atomic.Int32
	mu          sync.Mutex
	transitions []string
}

func newActorHarness(t *testing.T, p Policy) *actorHarness {
	m, err := NewMachine(p, 1)
	require.NoError(t, err)
	h := &actorHarness{gate: &gate{}, sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))}
	h.core = NewCore(m, Hooks{
		OnTransition: func(tr Transition, v *View) {
			h.mu.Lock()
			h.transitions = append(h.transitions, tr.From.String()+">"+tr.To.String())
			h.mu.Unlock()
		},
		Gate: h.gate,
		Fault: func(any) {
			if h.crash.Add(-1) >= 0 {
				panic("injected")
			}
		},
		Timers: &h.timers,
		Actors: &h.actors,
	})
	h.pid = h.sys.Root.Spawn(actor.PropsFromProducer(h.core.Producer()))
	t.Cleanup(func() {
		require.NoError(t, h.sys.Root.StopFuture(h.pid).Wait())
		synctest.Wait()
		assert.Zero(t, h.actors.Load())
		assert.Zero(t, h.timers.Load(), "the timer stops with the actor")
		h.sys.Shutdown()
	})
	return h
}

func (h *actorHarness) send(msg any) {
	h.sys.Root.Send(h.pid, msg)
	synctest.Wait()
}

func (h *actorHarness) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.transitions...)
}

func failure(gen uint64) messages.Report {
	return messages.Report{Permit: Permit{Generation: gen}, Outcome: messages.Failure}
}

func TestBreakerActorPublishesAndMovesOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newActorHarness(t, Policy{FailureThreshold: 2, OpenTimeout: 10 * time.Second})
		v := h.core.View()
		assert.Equal(t, messages.Closed, v.State)
		assert.True(t, v.FastSuccess)
		h.send(failure(0))
		assert.False(t, h.core.View().FastSuccess, "a failure run must hear of successes")
		h.send(failure(0))
		v = h.core.View()
		assert.Equal(t, messages.Open, v.State)
		assert.Equal(t, int64(1), h.timers.Load(), "a timer for the end of the open period")

		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, messages.HalfOpen, h.core.View().State, "moved by its timer, without traffic")
		assert.Equal(t, []string{"closed>open", "open>half-open"}, h.seen())
	})
}

func TestBreakerActorGrantsProbesThroughTheGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newActorHarness(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenProbes: 2, MaxHalfOpenWait: 5 * time.Second})
		h.send(failure(0))
		h.gate.wait("too-early")
		h.send(messages.ProbeWanted{})
		_, refused := h.gate.results()
		assert.Equal(t, []any{"too-early"}, refused, "still open")

		time.Sleep(time.Second)
		h.gate.wait("p1", "p2", "p3")
		h.send(messages.ProbeWanted{})
		admitted, refused := h.gate.results()
		assert.Equal(t, []any{"p1", "p2"}, admitted)
		assert.Equal(t, []any{"too-early", "p3"}, refused)
		assert.True(t, h.core.View().ProbesFull)

		// The probes never report: after MaxHalfOpenWait the breaker re-opens.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, messages.Open, h.core.View().State)
	})
}

func TestBreakerActorControlAndCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newActorHarness(t, Policy{FailureThreshold: 1, OpenTimeout: time.Hour})
		h.send(failure(0))
		require.Equal(t, messages.Open, h.core.View().State)

		// Two crashes while handling the control message: the actor is
		// restarted each time, the message re-delivered, the state kept.
		h.crash.Store(2)
		done := make(chan messages.State, 1)
		h.send(messages.Control{Op: messages.OpForceOpen, Done: done})
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, messages.ForcedOpen, <-done)
		assert.Equal(t, int64(1), h.actors.Load())

		h.send(messages.Control{Op: messages.OpDisable})
		assert.Equal(t, messages.Disabled, h.core.View().State)
		h.send(messages.Control{Op: messages.OpReset})
		assert.Equal(t, messages.Closed, h.core.View().State)
		h.send("unexpected")
		assert.Equal(t, uint64(1), h.core.Unexpected())
	})
}
