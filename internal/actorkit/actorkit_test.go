package actorkit

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type counter struct {
	g   *Gate
	got chan any
}

func (c *counter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.g.Bind(ctx)
	case string:
		c.got <- m
	}
}

func TestGateSendsOnlyBetweenStartAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.DiscardHandler)
		}))
		g := new(Gate)
		assert.False(t, g.Send("early"), "not started")
		ready := g.Ready()
		select {
		case <-ready:
			t.Fatal("ready before the actor started")
		default:
		}
		c := &counter{g: g, got: make(chan any, 4)}
		pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return c }))
		<-ready
		<-g.Ready() // asked after the start: closed as well
		require.True(t, g.Send("hello"))
		assert.Equal(t, "hello", <-c.got)
		g.Close()
		assert.False(t, g.Send("late"))
		require.NoError(t, sys.Root.StopFuture(pid).Wait())
		synctest.Wait()
		assert.Empty(t, c.got)
		sys.Shutdown()
	})
}

func TestAlarmKeepsOneTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var timers atomic.Int64
		a := Alarm{Timers: &timers}
		var fired atomic.Int32
		t0 := time.Now()
		a.Set(t0, t0.Add(time.Second), func() { fired.Add(1) })
		a.Set(t0, t0.Add(time.Second), func() { fired.Add(100) }) // already set for it: kept
		assert.Equal(t, int64(1), timers.Load())
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, int32(1), fired.Load())
		assert.Zero(t, timers.Load())
		a.Set(time.Now(), t0.Add(time.Second), func() { fired.Add(10) }) // fired: set anew, due now
		synctest.Wait()
		assert.Equal(t, int32(11), fired.Load())
		a.Set(time.Now(), time.Now().Add(time.Second), func() { fired.Add(1) })
		a.Set(time.Now(), time.Now().Add(time.Hour), func() { fired.Add(1) }) // moved
		a.Stop()
		assert.Zero(t, timers.Load())
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		assert.Equal(t, int32(11), fired.Load())
	})
}
