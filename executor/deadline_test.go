package executor

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/actors/supervisor"
)

// ignoring returns a function that ignores its context and returns v
// after d, and a channel of its returns.
func ignoring(d time.Duration, v string) (func(context.Context) (string, error), chan struct{}) {
	returned := make(chan struct{}, 100)
	return func(context.Context) (string, error) {
		time.Sleep(d)
		returned <- struct{}{}
		return v, nil
	}, returned
}

// An attempt's deadline holds whatever fn does: with AttemptTimeout
// 100ms, a function that ignores its context and succeeds at 300ms gives
// the caller a *TimeoutError at 100ms (before v2: the success at 300ms).
func TestAttemptDeadlineHoldsWhenFnIgnoresItsContext(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.AttemptTimeout = 100 * time.Millisecond
		p.Retry = retrier.Policy{MaxAttempts: 1}
		p.Pool = Pool{Workers: 1, Queue: 1}
		ex := start(t, WithDependency("db", p))
		fn, returned := ignoring(300*time.Millisecond, "late success")
		t0 := time.Now()
		_, err := Do(context.Background(), ex, "db", fn)
		var te *TimeoutError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 100*time.Millisecond, time.Since(t0), "answered at the attempt's deadline")
		assert.Equal(t, 100*time.Millisecond, te.Duration)

		// The stuck worker is abandoned and replaced: the pool of one
		// serves the next call while fn still runs.
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1), st.Abandoned)
		assert.Equal(t, int64(1), st.AbandonedWorkers)
		v, err := Do(context.Background(), ex, "db", func(context.Context) (string, error) { return "next", nil })
		require.NoError(t, err)
		assert.Equal(t, "next", v)
		assert.Equal(t, 100*time.Millisecond, time.Since(t0), "served at once by the replacement")

		<-returned
		time.Sleep(time.Millisecond)
		st, _ = ex.Stats("db")
		assert.Zero(t, st.AbandonedWorkers, "the stuck worker left when fn returned")
		assert.Equal(t, uint64(1), st.TimedOut)
		assert.Equal(t, int64(1), ex.Gauges().Workers, "the pool kept its size")
	})
}

// A timed-out attempt is retried on time, not when fn returns.
func TestTimedOutAttemptIsRetriedOnTime(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.AttemptTimeout = 100 * time.Millisecond
		ex := start(t, WithDependency("db", p))
		var calls atomic.Int32
		t0 := time.Now()
		v, err := Do(context.Background(), ex, "db", func(ctx context.Context) (string, error) {
			if calls.Add(1) == 1 {
				time.Sleep(time.Hour) // ignores ctx
			}
			return "second", nil
		})
		require.NoError(t, err)
		assert.Equal(t, "second", v)
		assert.Equal(t, 200*time.Millisecond, time.Since(t0), "timed out at 100ms, retried after 100ms")
		stop(t, ex) // the stuck function is waited for no longer than Shutdown's context
	})
}

// A hung dependency trips its breaker: each timed-out attempt counts as
// a failure when it times out (before v2: only when fn returned, so four
// hung calls left the breaker closed with a failure run of 0).
func TestHungDependencyTripsTheBreaker(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.AttemptTimeout = 100 * time.Millisecond
		p.Retry = retrier.Policy{MaxAttempts: 1}
		p.Breaker = breaker.Policy{FailureThreshold: 4, OpenTimeout: time.Minute}
		p.Pool = Pool{Workers: 4, Queue: 4}
		ex := start(t, WithDependency("db", p))
		db, _ := ex.Dependency("db")
		hang := make(chan struct{})
		defer close(hang)
		var fs []*Future[string]
		for range 4 {
			fs = append(fs, Go(context.Background(), db, func(context.Context) (string, error) { <-hang; return "", nil }))
		}
		for _, f := range fs {
			_, err := f.Wait(context.Background())
			assert.ErrorIs(t, err, ErrTimeout)
		}
		time.Sleep(time.Millisecond)
		st := db.Stats()
		assert.Equal(t, Open, st.State, "four timeouts trip it while the functions still hang")
		_, err := Call(context.Background(), db, func(context.Context) (string, error) { return "", nil })
		assert.ErrorIs(t, err, ErrCircuitOpen)
	})
}

// A job's deadline holds while its retry waits and the retrier actor is
// down (before v2: a job with a 150ms Timeout was answered after 453ms).
func TestJobDeadlineHoldsWhileTheRetrierIsDown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Timeout = 150 * time.Millisecond
		p.Retry = retrier.Policy{MaxAttempts: 3, InitialDelay: 100 * time.Millisecond, Jitter: retrier.NoJitter}
		p.Restart = supervisor.Policy{InitialBackoff: 300 * time.Millisecond, MaxBackoff: time.Second}
		var crash atomic.Bool
		crash.Store(true)
		ex := start(t, WithDependency("db", p), WithFaultHook(func(s Site, _ string) {
			if s == SiteRetrier && crash.CompareAndSwap(true, false) {
				panic("retrier crash")
			}
		}))
		t0 := time.Now()
		_, err := Do(context.Background(), ex, "db", func(context.Context) (string, error) {
			return "", errors.New("transient")
		})
		var te *TimeoutError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 150*time.Millisecond, time.Since(t0), "answered at its deadline, the retrier still restarting")
		assert.Equal(t, 150*time.Millisecond, te.Duration)
		time.Sleep(time.Second) // the retrier restarts and finds the job ended
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1), st.TimedOut)
		assert.Equal(t, uint64(1), st.Restarts)
		assert.Zero(t, st.InFlight)
	})
}

// A job waiting in the queue past its deadline is answered at the
// deadline and never runs.
func TestQueuedJobTimesOutOnTime(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Timeout = time.Second
		p.Pool = Pool{Workers: 1, Queue: 1}
		ex := start(t, WithDependency("db", p))
		db, _ := ex.Dependency("db")
		release := make(chan struct{})
		busy := Go(context.Background(), db, func(ctx context.Context) (string, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return "busy", nil
		})
		time.Sleep(500 * time.Millisecond)
		ran := false
		t0 := time.Now()
		short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := Call(short, db, func(context.Context) (string, error) { ran = true; return "", nil })
		var te *TimeoutError
		require.ErrorAs(t, err, &te, "the executor's timeout, at the caller's deadline")
		assert.Equal(t, 200*time.Millisecond, te.Duration)
		assert.Equal(t, 200*time.Millisecond, time.Since(t0))
		close(release)
		v, err := busy.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "busy", v)
		time.Sleep(time.Millisecond)
		assert.False(t, ran, "no attempt starts after the job's deadline")
		assert.Equal(t, uint64(1), db.Stats().TimedOut)
		assert.Equal(t, uint64(1), db.Stats().Succeeded)
	})
}

// Jobs whose every attempt timed out count as timed out (before v2:
// as failed).
func TestEveryAttemptTimedOutCountsAsTimedOut(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.AttemptTimeout = 100 * time.Millisecond
		ex := start(t, WithDependency("db", p))
		_, err := Do(context.Background(), ex, "db", func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		})
		assert.ErrorIs(t, err, ErrRetriesExhausted)
		assert.ErrorIs(t, err, ErrTimeout)
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1), st.TimedOut)
		assert.Zero(t, st.Failed)
		assert.Equal(t, uint64(3), st.Attempts)
	})
}

// Past Pool.Workers abandoned workers, the dependency rejects new calls:
// the goroutines that functions ignoring their context hold are bounded.
func TestAbandonedWorkersAreBounded(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.AttemptTimeout = 100 * time.Millisecond
		p.Retry = retrier.Policy{MaxAttempts: 1}
		p.Breaker = breaker.Policy{FailureThreshold: 1 << 20}
		p.Pool = Pool{Workers: 2, Queue: 2}
		ex := start(t, WithDependency("db", p))
		hang := make(chan struct{})
		stuck := func(context.Context) (string, error) { <-hang; return "", nil }
		for range 3 {
			_, err := Do(context.Background(), ex, "db", stuck)
			assert.ErrorIs(t, err, ErrTimeout)
		}
		_, err := Do(context.Background(), ex, "db", stuck)
		assert.ErrorIs(t, err, ErrRejected, "three stuck workers are more than two")
		close(hang)
		time.Sleep(time.Millisecond)
		v, err := Do(context.Background(), ex, "db", func(context.Context) (string, error) { return "ok", nil })
		require.NoError(t, err)
		assert.Equal(t, "ok", v)
	})
}

// Timeouts so long they stand for "never" do not wrap around into the
// past: the job runs and its attempt's context ends centuries on.
func TestTimeoutsOfTheLongestDurationNeverFire(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Timeout, p.AttemptTimeout = math.MaxInt64, math.MaxInt64
		ex := start(t, WithDependency("db", p))
		time.Sleep(time.Second) // the dependency's clock is past its epoch
		v, err := Do(context.Background(), ex, "db", func(ctx context.Context) (string, error) {
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) < 100*365*24*time.Hour {
				return "", errors.New("an attempt deadline within a century")
			}
			time.Sleep(time.Hour)
			return "done", ctx.Err()
		})
		require.NoError(t, err)
		assert.Equal(t, "done", v)
	})
}
