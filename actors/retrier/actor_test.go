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
)

type dueLog struct {
	mu    sync.Mutex
	fired []string
	at    []time.Time
}

type dueFunc struct {
	log  *dueLog
	name string
	boom *atomic.Int32 // panics left to inject
}

func (d *dueFunc) Due() {
	if d.boom != nil && d.boom.Add(-1) >= 0 {
		panic("injected")
	}
	d.log.mu.Lock()
	d.log.fired = append(d.log.fired, d.name)
	d.log.at = append(d.log.at, time.Now())
	d.log.mu.Unlock()
}

func (l *dueLog) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.fired...)
}

type harness struct {
	sys            *actor.ActorSystem
	pid            *actor.PID
	a              *Actor
	actors, timers atomic.Int64
}

func newHarness(t *testing.T) *harness {
	h := &harness{sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))}
	h.a = NewActor(WithActorGauges(&h.actors, &h.timers))
	h.pid = h.sys.Root.Spawn(h.a.Props())
	<-h.a.Ready()
	t.Cleanup(func() {
		h.a.Close()
		require.NoError(t, h.sys.Root.StopFuture(h.pid).Wait())
		synctest.Wait()
		assert.Zero(t, h.actors.Load())
		assert.Zero(t, h.timers.Load(), "the timer stops with the actor")
		assert.Zero(t, h.a.Pending())
		h.sys.Shutdown()
	})
	return h
}

func TestRetrierFiresInTimeOrderWithOneTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		log := &dueLog{}
		t0 := time.Now()
		for _, d := range []struct {
			name string
			in   time.Duration
		}{{"c", 3 * time.Second}, {"a", time.Second}, {"b", 2 * time.Second}, {"now", -time.Second}} {
			require.True(t, h.a.Schedule(t0.Add(d.in), &dueFunc{log: log, name: d.name}))
		}
		synctest.Wait()
		assert.Equal(t, []string{"now"}, log.names(), "a time already passed fires at once")
		assert.Equal(t, 3, h.a.Pending())
		assert.Equal(t, int64(1), h.timers.Load(), "one timer for the earliest, not one per retry")

		time.Sleep(3 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"now", "a", "b", "c"}, log.names())
		for i, want := range []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second} {
			assert.Equal(t, want, log.at[i].Sub(t0), "retry %d fired on time", i)
		}
		assert.Zero(t, h.a.Pending())
	})
}

func TestRetrierKeepsItsScheduleAcrossACrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		log := &dueLog{}
		var boom atomic.Int32
		boom.Store(1)
		h.a.Schedule(time.Now().Add(time.Second), &dueFunc{log: log, name: "x", boom: &boom})
		h.a.Schedule(time.Now().Add(time.Minute), &dueFunc{log: log, name: "y"})
		time.Sleep(time.Second)
		synctest.Wait()
		time.Sleep(time.Second) // the default supervisor's restart
		synctest.Wait()
		assert.Equal(t, []string{"x"}, log.names(), "the retry whose Due crashed is called again after the restart")
		assert.Equal(t, 1, h.a.Pending())
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, []string{"x", "y"}, log.names())
	})
}

func TestRetrierRefusesOnceClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		log := &dueLog{}
		h.a.Schedule(time.Now().Add(time.Hour), &dueFunc{log: log, name: "dropped"})
		synctest.Wait()
		h.a.Close()
		assert.False(t, h.a.Schedule(time.Now(), &dueFunc{log: log, name: "late"}))
		h.sys.Root.Send(h.pid, "unexpected") // logged, changes nothing
		synctest.Wait()
		assert.Empty(t, log.names())
	})
}

// slotDue is a dueFunc with a Slot, which Expedite finds at once.
type slotDue struct {
	Slot
	dueFunc
}

// Expedite works alike on Dues with a Slot and without one.
func TestRetrierExpedites(t *testing.T) {
	for _, slotted := range []bool{false, true} {
		t.Run(map[bool]string{false: "searched", true: "slot"}[slotted], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				log := &dueLog{}
				mk := func(name string) Due {
					if slotted {
						return &slotDue{dueFunc: dueFunc{log: log, name: name}}
					}
					return &dueFunc{log: log, name: name}
				}
				soon, later, other := mk("soon"), mk("later"), mk("other")
				h.a.Schedule(time.Now().Add(time.Hour), later)
				h.a.Schedule(time.Now().Add(2*time.Hour), other)
				h.a.Schedule(time.Now().Add(time.Minute), soon)
				synctest.Wait()
				require.True(t, h.a.Expedite(later))
				synctest.Wait()
				assert.Equal(t, []string{"later"}, log.names(), "called at once, off the schedule")
				assert.Equal(t, 2, h.a.Pending())
				h.a.Expedite(later) // already called: nothing
				h.a.Expedite(mk("never scheduled"))
				time.Sleep(time.Hour)
				synctest.Wait()
				assert.Equal(t, []string{"later", "soon"}, log.names())
				time.Sleep(time.Hour)
				synctest.Wait()
				assert.Equal(t, []string{"later", "soon", "other"}, log.names())
			})
		})
	}
}
