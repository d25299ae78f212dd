package executor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/supervisor"
)

func TestControlBreaker(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		db, _ := ex.Dependency("db")
		s, err := db.ControlBreaker(context.Background(), ForceOpenBreaker)
		require.NoError(t, err)
		assert.Equal(t, ForcedOpen, s)
		_, err = Call(context.Background(), db, func(context.Context) (string, error) { return "", nil })
		assert.ErrorIs(t, err, ErrCircuitOpen)
		s, err = ex.ControlBreaker(context.Background(), "db", DisableBreaker)
		require.NoError(t, err)
		assert.Equal(t, Disabled, s)
		s, err = ex.ControlBreaker(context.Background(), "db", ResetBreaker)
		require.NoError(t, err)
		assert.Equal(t, Closed, s)

		// An unknown operation is an error (before v2: closed, nil).
		_, err = ex.ControlBreaker(context.Background(), "db", breaker.Control(9))
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = ex.ControlBreaker(context.Background(), "nope", ResetBreaker)
		assert.ErrorIs(t, err, ErrUnknownDependency)
	})
}

// Controls racing Shutdown all return, with a state or ErrShutdown, and
// none waits for its context (before v2, 79 of 200 hung until theirs
// ended).
func TestControlsRacingShutdownReturn(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex, err := New(WithDependency("db", fast()))
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Go(func() {
				_, err := ex.ControlBreaker(context.Background(), "db", BreakerControl(i%3))
				errs <- err
			})
		}
		require.NoError(t, ex.Shutdown(context.Background()))
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				assert.ErrorIs(t, err, ErrShutdown)
			}
		}
		_, err = ex.ControlBreaker(context.Background(), "db", ResetBreaker)
		assert.ErrorIs(t, err, ErrShutdown)
		assert.Equal(t, Gauges{}, ex.Gauges())
	})
}

// Gauges, Stats and Snapshot may run while a down dependency is
// registered again (run under -race: before v2 Gauges read the retired
// list without its lock).
func TestGaugesWhileReregistering(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Restart = supervisor.Policy{MaxRestarts: 1, InitialBackoff: time.Millisecond}
		ex := start(t, WithDependency("db", p), WithFaultHook(func(s Site, _ string) {
			if s == SiteBreaker {
				panic("breaker crash")
			}
		}))
		db, _ := ex.Dependency("db")
		for _, op := range []BreakerControl{ForceOpenBreaker, ResetBreaker, ForceOpenBreaker} {
			// Each transition crashes the breaker actor: down after two.
			_, _ = db.ControlBreaker(context.Background(), op)
			time.Sleep(10 * time.Millisecond)
		}
		require.True(t, db.Stats().Down)
		stopReading := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stopReading:
					return
				default:
				}
				_ = ex.Gauges()
				_ = ex.Snapshot()
				time.Sleep(time.Microsecond)
			}
		})
		require.NoError(t, ex.Register("db", fast()))
		close(stopReading)
		wg.Wait()
		_, err := Call(context.Background(), db, func(context.Context) (string, error) { return "", nil })
		assert.ErrorIs(t, err, ErrDependencyDown, "the old handle")
		v, err := Do(context.Background(), ex, "db", func(context.Context) (string, error) { return "new", nil })
		require.NoError(t, err)
		assert.Equal(t, "new", v)
	})
}
