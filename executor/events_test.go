package executor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
)

func tripOnce() Policy {
	p := fast()
	p.Retry = retrier.Policy{MaxAttempts: 1}
	p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Minute}
	return p
}

func failDown(context.Context) (string, error) { return "", errors.New("down") }

// A listener that shuts the executor down does not deadlock it (before
// v2 it did).
func TestListenerMayShutDownTheExecutor(t *testing.T) {
	bubble(t, func(t *testing.T) {
		shut := make(chan error, 1)
		var ex *Executor
		var once sync.Once
		ex, err := New(WithDependency("db", tripOnce()), WithEvents(func(e Event) {
			if e.Kind == EventStateChange && e.To == Open {
				once.Do(func() { shut <- ex.Shutdown(context.Background()) })
			}
		}, 0))
		require.NoError(t, err)
		_, err = Do(context.Background(), ex, "db", failDown)
		require.Error(t, err)
		require.NoError(t, <-shut)
		_, err = Do(context.Background(), ex, "db", failDown)
		assert.ErrorIs(t, err, ErrShutdown)
		require.NoError(t, ex.Shutdown(context.Background()))
		assert.Equal(t, Gauges{}, ex.Gauges())
	})
}

// A listener that panics is counted and keeps getting events; the
// process lives on (before v2 the panic killed it). Every listener given
// gets every event.
func TestListenerPanicsAreContained(t *testing.T) {
	bubble(t, func(t *testing.T) {
		var mu sync.Mutex
		var seen []string
		ex := start(t, WithDependency("db", tripOnce()),
			WithEvents(func(e Event) { panic("listener bug") }, 0),
			WithEvents(func(e Event) {
				mu.Lock()
				seen = append(seen, e.Kind.String())
				mu.Unlock()
			}, 0))
		for range 3 {
			_, _ = Do(context.Background(), ex, "db", failDown)
			synctest.Wait() // the breaker has heard of it
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		// The job's end (from its worker) and the trip (from the breaker
		// actor) happen side by side, in either order; the rejections
		// after.
		require.Len(t, seen, 4)
		assert.ElementsMatch(t, []string{"job-ended", "state-change"}, seen[:2])
		assert.Equal(t, []string{"rejected", "rejected"}, seen[2:])
		mu.Unlock()
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(4), st.ListenerPanics)
	})
}

// A slow listener never slows the jobs: past its buffer, events are
// dropped and counted.
func TestSlowListenerDropsEvents(t *testing.T) {
	bubble(t, func(t *testing.T) {
		block := make(chan struct{})
		ex := start(t, WithDependency("db", tripOnce()), WithEvents(func(Event) { <-block }, 2))
		for range 10 {
			_, _ = Do(context.Background(), ex, "db", failDown)
			synctest.Wait()
		}
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(10), st.Ended())
		assert.GreaterOrEqual(t, st.EventsDropped, uint64(7), "one in the listener, two buffered")
		close(block)
	})
}

// A change to OPEN carries its open period in Delay, the policy's after
// a trip and the one given to OpenBreakerFor; other changes carry none.
func TestStateChangeCarriesTheOpenPeriod(t *testing.T) {
	bubble(t, func(t *testing.T) {
		var mu sync.Mutex
		var seen []Event
		ex := start(t, WithDependency("db", tripOnce()), WithEvents(func(e Event) {
			if e.Kind == EventStateChange {
				mu.Lock()
				seen = append(seen, e)
				mu.Unlock()
			}
		}, 0))
		_, _ = Do(context.Background(), ex, "db", failDown)
		synctest.Wait()
		_, err := ex.ControlBreaker(t.Context(), "db", ResetBreaker)
		require.NoError(t, err)
		_, err = ex.OpenBreakerFor(t.Context(), "db", 5*time.Second, "maintenance")
		require.NoError(t, err)
		synctest.Wait()
		time.Sleep(time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, seen, 3)
		assert.Equal(t, []time.Duration{time.Minute, 0, 5 * time.Second}, []time.Duration{seen[0].Delay, seen[1].Delay, seen[2].Delay})
		assert.Equal(t, []State{Open, Closed, Open}, []State{seen[0].To, seen[1].To, seen[2].To})
	})
}
