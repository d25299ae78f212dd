package retrier

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

type harness struct {
	sys    *actor.ActorSystem
	pid    *actor.PID
	core   *Core
	timers atomic.Int64
	actors atomic.Int64
	mu     sync.Mutex
	due    []any
	crash  atomic.Int32
}

func newHarness(t *testing.T) *harness {
	h := &harness{sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))}
	h.core = NewCore(Hooks{
		OnDue: func(t any) {
			h.mu.Lock()
			h.due = append(h.due, t)
			h.mu.Unlock()
		},
		Fault: func(any) {
			if h.crash.Add(-1) >= 0 {
				panic("injected")
			}
		},
		Timers: &h.timers,
		Actors: &h.actors,
	}, func() { h.sys.Root.Send(h.pid, messages.RetryWake{}) })
	h.pid = h.sys.Root.Spawn(actor.PropsFromProducer(h.core.Producer()))
	t.Cleanup(func() {
		require.NoError(t, h.sys.Root.StopFuture(h.pid).Wait())
		synctest.Wait()
		assert.Zero(t, h.actors.Load())
		h.sys.Shutdown()
	})
	return h
}

func (h *harness) delivered() []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]any(nil), h.due...)
}

func TestRetrierActorFiresEachRetryOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		t0 := time.Now()
		require.True(t, h.core.Request("a", 2*time.Second))
		require.True(t, h.core.Request("b", time.Second))
		synctest.Wait()
		assert.Equal(t, 2, h.core.Pending())
		assert.Equal(t, int64(2), h.timers.Load(), "one timer per pending retry")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []any{"b"}, h.delivered())
		assert.Equal(t, time.Second, time.Since(t0))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []any{"b", "a"}, h.delivered())
		assert.Zero(t, h.timers.Load())
		assert.Zero(t, h.core.Pending())
	})
}

func TestRetrierCancelAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.core.Request("a", time.Hour)
		h.core.Request("b", time.Hour)
		synctest.Wait()
		assert.True(t, h.core.Cancel("a"), "a waiting retry is withdrawn")
		assert.False(t, h.core.Cancel("a"), "only once")
		assert.False(t, h.core.Cancel("zzz"))
		assert.Equal(t, int64(1), h.timers.Load(), "its timer is stopped")

		// A request not yet armed can be withdrawn too.
		h.core.mu.Lock()
		h.core.requested = append(h.core.requested, request{ticket: "c", delay: time.Hour})
		h.core.mu.Unlock()
		assert.True(t, h.core.Cancel("c"))

		got := h.core.Close()
		assert.ElementsMatch(t, []any{"b"}, got)
		assert.Zero(t, h.timers.Load())
		assert.False(t, h.core.Request("d", time.Second), "closed")
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		assert.Empty(t, h.delivered(), "nothing fires after Close")
	})
}

func TestRetrierActorCrashLosesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.crash.Store(2)
		h.core.Request("a", time.Second) // its wake-up crashes the actor
		synctest.Wait()
		time.Sleep(time.Second) // the timer's wake-up crashes it again
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []any{"a"}, h.delivered(), "restarted, it armed and delivered the retry")
		h.sys.Root.Send(h.pid, "unexpected")
		synctest.Wait()
		assert.Equal(t, uint64(1), h.core.Unexpected())
	})
}

func TestRetrierHandOverPanicPutsTheTicketBack(t *testing.T) {
	c := NewCore(Hooks{OnDue: func(t any) {
		if t == "bad" {
			panic("hand-over failed")
		}
	}}, func() {})
	c.due = []any{"bad", "good"}
	assert.Panics(t, func() { c.deliver() })
	assert.Equal(t, []any{"bad", "good"}, c.due, "the ticket is back at the front")
	assert.ElementsMatch(t, []any{"bad", "good"}, c.Close())
}
