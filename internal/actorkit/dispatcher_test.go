package actorkit

import (
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Runs go to idle long-lived goroutines, at most max of them; beyond
// that, and after Close, each run gets a goroutine of its own. Close
// waits for the long-lived ones to end.
func TestDispatcherKeepsAtMostMaxGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := NewDispatcher(2, 300)
		assert.Equal(t, 300, d.Throughput())
		var ran sync.WaitGroup
		release := make(chan struct{})
		// Three runs at once: two long-lived goroutines, one of its own.
		for range 3 {
			ran.Add(1)
			d.Schedule(func() { <-release; ran.Done() })
		}
		synctest.Wait()
		assert.Equal(t, 2, d.Live())
		close(release)
		ran.Wait()
		synctest.Wait() // both long-lived goroutines wait for a run
		// One after the other: an idle goroutine takes each run.
		for range 10 {
			ran.Add(1)
			d.Schedule(ran.Done)
			ran.Wait()
			synctest.Wait()
		}
		assert.Equal(t, 2, d.Live(), "no more goroutines were started")
		d.Close()
		assert.Zero(t, d.Live(), "Close waited for them")
		d.Close() // idempotent
		ran.Add(1)
		d.Schedule(ran.Done) // after Close: a goroutine of its own
		ran.Wait()
		assert.Zero(t, d.Live())
	})
}

// An actor whose props use the dispatcher gets its messages in order.
func TestDispatcherRunsAnActor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.DiscardHandler)
		}))
		d := NewDispatcher(1, 300)
		g := new(Gate)
		c := &counter{g: g, got: make(chan any, 100)}
		pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return c }, actor.WithDispatcher(d)))
		<-g.Ready()
		for i := range 100 {
			require.True(t, g.Send(string(rune('a'+i%26))))
		}
		for i := range 100 {
			assert.Equal(t, string(rune('a'+i%26)), <-c.got)
		}
		g.Close()
		require.NoError(t, sys.Root.StopFuture(pid).Wait())
		d.Close()
		sys.Shutdown()
	})
}
