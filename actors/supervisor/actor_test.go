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
	sys      *actor.ActorSystem
	pid      *actor.PID
	pids     map[string]*actor.PID
	starts   atomic.Int32
	timers   atomic.Int64
	actors   atomic.Int64
	mu       sync.Mutex
	log      []string
	stopped  chan struct{}
	replaced *actor.PID
}

func newSupHarness(t *testing.T, p Policy) *supHarness {
	h := &supHarness{stopped: make(chan struct{}), sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))}
	props := actor.PropsFromProducer(func() actor.Actor { return &child{starts: &h.starts} })
	sup, err := New(p, []Child{{Name: "a", Props: props}, {Name: "b", Props: props}}, Hooks{
		OnStarted: func(pids map[string]*actor.PID) { h.pids = pids },
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
		OnStopped:  func() { close(h.stopped) },
		OnReplaced: func(_ string, pid *actor.PID) { h.replaced = pid },
		Timers:     &h.timers,
		Actors:     &h.actors,
	})
	require.NoError(t, err)
	h.pid = h.sys.Root.Spawn(sup)
	synctest.Wait()
	t.Cleanup(func() {
		h.sys.Root.Stop(h.pid)
		<-h.stopped
		synctest.Wait()
		assert.Zero(t, h.timers.Load())
		h.sys.Shutdown()
	})
	return h
}

func (h *supHarness) entries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

func TestSupervisorRestartsWithBackoffThenEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSupHarness(t, Policy{MaxRestarts: 2, Window: time.Minute, InitialBackoff: 100 * time.Millisecond})
		require.Len(t, h.pids, 2)
		assert.Equal(t, int32(2), h.starts.Load())
		assert.Equal(t, int64(1), h.actors.Load(), "the supervisor counts itself; children count themselves")

		t0 := time.Now()
		h.sys.Root.Send(h.pids["a"], "crash")
		synctest.Wait()
		assert.Equal(t, int64(1), h.timers.Load(), "a restart waits on its timer")
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, int32(3), h.starts.Load(), "restarted after 100ms")

		h.sys.Root.Send(h.pids["b"], "crash")
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, int32(4), h.starts.Load(), "restarted after 200ms: intensity is shared by the children")

		h.sys.Root.Send(h.pids["a"], "crash")
		synctest.Wait()
		assert.Equal(t, []string{"a restart after 100ms", "b restart after 200ms", "a escalate"}, h.entries())
		assert.Equal(t, 300*time.Millisecond, time.Since(t0))
		h.sys.Root.Send(h.pids["b"], "crash") // after escalation: stopped, so a dead letter
		synctest.Wait()
		assert.Len(t, h.entries(), 3)
		time.Sleep(2 * time.Second) // protoactor's dead-letter throttle lives one second
	})
}

func TestSupervisorStopsPendingRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSupHarness(t, Policy{InitialBackoff: time.Hour, MaxBackoff: time.Hour})
		h.sys.Root.Send(h.pids["a"], "crash")
		synctest.Wait()
		assert.Equal(t, int64(1), h.timers.Load())
		// The cleanup stops the supervisor; its timer must go with it.
	})
}

func TestSupervisorReplacesAChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSupHarness(t, Policy{})
		old := h.pids["a"]
		h.sys.ProcessRegistry.Remove(old)
		if p, ok := h.sys.ProcessRegistry.Get(h.pid); ok {
			p.SendSystemMessage(h.pid, &actor.Terminated{Who: old})
		}
		h.sys.Root.Send(h.pid, Replace{Name: "a"})
		synctest.Wait()
		require.NotNil(t, h.replaced)
		assert.Equal(t, old.Id, h.replaced.Id, "same name, new actor")
		assert.Equal(t, int32(3), h.starts.Load())
	})
}

func TestNewRejectsAnInvalidPolicy(t *testing.T) {
	_, err := New(Policy{MaxRestarts: -1}, nil, Hooks{})
	assert.Error(t, err)
}
