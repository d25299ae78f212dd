package supervisor

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
)

// child crashes on "crash" and counts its starts.
type child struct{ starts *atomic.Int32 }

func (c *child) Receive(ctx actor.Context) {
	switch ctx.Message() {
	case "crash":
		panic("child crashed")
	}
	if _, ok := ctx.Message().(*actor.Started); ok {
		c.starts.Add(1)
	}
}

type supHarness struct {
	sys     *actor.ActorSystem
	pid     *actor.PID
	sup     *Supervisor
	starts  atomic.Int32
	timers  atomic.Int64
	actors  atomic.Int64
	mu      sync.Mutex
	log     []string
	stopped chan struct{}
}

func newSupHarness(t *testing.T, p Policy) *supHarness {
	h := &supHarness{stopped: make(chan struct{}), sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))}
	props := actor.PropsFromProducer(func() actor.Actor { return &child{starts: &h.starts} })
	sup, err := New(p, []Child{{Name: "a", Props: props}, {Name: "b", Props: props}}, Config{
		OnRestart: func(c string, d Decision, _ any) {
			h.mu.Lock()
			h.log = append(h.log, c+" restart after "+d.Delay.String())
			h.mu.Unlock()
		},
		OnEscalate: func(c string, d Decision, _ any) {
			h.mu.Lock()
			h.log = append(h.log, c+" escalate")
			h.mu.Unlock()
		},
		OnStopped: func() { close(h.stopped) },
		Timers:    &h.timers,
		Actors:    &h.actors,
	})
	require.NoError(t, err)
	h.sup = sup
	h.pid = h.sys.Root.Spawn(sup.Props())
	<-sup.Ready()
	synctest.Wait()
	t.Cleanup(func() {
		sup.Close()
		h.sys.Root.Stop(h.pid)
		<-h.stopped
		synctest.Wait()
		assert.Zero(t, h.timers.Load())
		assert.Zero(t, h.actors.Load())
		h.sys.Shutdown()
	})
	return h
}

func (h *supHarness) entries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

func (h *supHarness) child(name string) *actor.PID {
	return actor.NewPID(h.pid.Address, h.pid.Id+"/"+name)
}

func TestSupervisorRestartsWithBackoffThenEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSupHarness(t, Policy{MaxRestarts: 3, Window: time.Minute, InitialBackoff: 100 * time.Millisecond})
		assert.Equal(t, int32(2), h.starts.Load())
		assert.Equal(t, int64(1), h.actors.Load(), "the supervisor counts itself; children count themselves")

		t0 := time.Now()
		h.sys.Root.Send(h.child("a"), "crash")
		synctest.Wait()
		assert.Equal(t, int64(1), h.timers.Load(), "a restart waits on its timer")
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, int32(3), h.starts.Load(), "restarted after 100ms")

		h.sys.Root.Send(h.child("b"), "crash")
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, int32(4), h.starts.Load(), "restarted after 200ms: intensity is shared by the children")

		// A goroutine child's crash counts the same way.
		restarted := make(chan struct{})
		require.True(t, h.sup.Crashed("worker-0", "boom", func() { close(restarted) }))
		time.Sleep(400 * time.Millisecond)
		<-restarted

		h.sys.Root.Send(h.child("a"), "crash")
		synctest.Wait()
		assert.Equal(t, []string{"a restart after 100ms", "b restart after 200ms", "worker-0 restart after 400ms", "a escalate"}, h.entries())
		assert.Equal(t, 700*time.Millisecond, time.Since(t0))
		require.True(t, h.sup.Crashed("worker-0", "late", func() { t.Error("no restart after escalation") }))
		synctest.Wait()
		assert.Len(t, h.entries(), 4)
	})
}

func TestSupervisorStopsPendingRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSupHarness(t, Policy{InitialBackoff: time.Hour, MaxBackoff: time.Hour})
		h.sup.Crashed("worker-0", "boom", func() { t.Error("restarted after Close") })
		synctest.Wait()
		assert.Equal(t, int64(1), h.timers.Load())
		// The cleanup closes and stops the supervisor; its timer goes with it.
	})
}

func TestSupervisorRefusesCrashReportsOnceClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSupHarness(t, Policy{})
		h.sup.Close()
		assert.False(t, h.sup.Crashed("worker-0", "boom", func() {}))
	})
}

func TestNewRejectsAnInvalidPolicy(t *testing.T) {
	_, err := New(Policy{MaxRestarts: -1}, nil, Config{})
	assert.Error(t, err)
}
