package executor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/actors/supervisor"
)

// Strictly alternating successes and failures never trip a breaker that
// opens after two failures in a row, however the reports race (before
// v2 it tripped ~280 times in 3,000 pairs: a success whose predecessor's
// failure report was still on its way was skipped). Real time, since the
// race lives between real goroutines; nothing here depends on timing.
func TestAlternatingOutcomesNeverTrip(t *testing.T) {
	var opens atomic.Int32
	ex, err := New(WithDependency("db", Policy{
		Retry:   retrier.Policy{MaxAttempts: 1},
		Breaker: breaker.Policy{FailureThreshold: 2, OpenTimeout: time.Millisecond},
		Pool:    Pool{Workers: 1, Queue: 1},
	}), WithEvents(func(e Event) {
		if e.Kind == EventStateChange && e.To == Open {
			opens.Add(1)
		}
	}, 0))
	require.NoError(t, err)
	defer func() { require.NoError(t, ex.Shutdown(context.Background())) }()
	db, _ := ex.Dependency("db")
	boom := errors.New("boom")
	for range 3000 {
		_, err := Call(context.Background(), db, func(context.Context) (int, error) { return 0, boom })
		require.ErrorIs(t, err, boom)
		_, err = Call(context.Background(), db, func(context.Context) (int, error) { return 1, nil })
		require.NoError(t, err)
	}
	require.NoError(t, ex.Shutdown(context.Background()))
	assert.Zero(t, opens.Load(), "no two failures ever ran in a row")
	assert.Zero(t, db.Stats().ShortCircuited)
}

// A job that ran and then met an open breaker on a retry keeps its root
// cause: the error matches ErrCircuitOpen and the last attempt's error,
// and counts as failed, not short-circuited (before v2 only the
// *CircuitOpenError came back).
func TestRetryRefusedByTheBreakerKeepsTheRootCause(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Retry = retrier.Policy{MaxAttempts: 5, InitialDelay: 100 * time.Millisecond, Jitter: retrier.NoJitter}
		p.Breaker = breaker.Policy{FailureThreshold: 3, OpenTimeout: time.Minute}
		ex := start(t, WithDependency("api", p))
		unavailable := errors.New("status 503")
		calls := 0
		t0 := time.Now()
		_, err := Do(context.Background(), ex, "api", func(context.Context) (int, error) { calls++; return 0, unavailable })
		assert.ErrorIs(t, err, ErrCircuitOpen)
		assert.ErrorIs(t, err, unavailable)
		var ce *CircuitOpenError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "api", ce.Name)
		assert.Equal(t, 3, calls, "the third failure tripped it; the fourth attempt never ran")
		assert.Equal(t, 700*time.Millisecond, time.Since(t0), "100 + 200 + 400 ms of backoff")
		st, _ := ex.Stats("api")
		assert.Equal(t, uint64(1), st.Failed)
		assert.Zero(t, st.ShortCircuited)
		assert.Equal(t, Open, st.State)
	})
}

// PerJob is the original module's order: the breaker sees one outcome
// per job, whatever its retries.
func TestPerJobCountsOneOutcomePerJob(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.BreakerCounts = PerJob
		p.Breaker = breaker.Policy{FailureThreshold: 2, OpenTimeout: time.Minute}
		ex := start(t, WithDependency("db", p))
		boom := errors.New("boom")
		fn := func(context.Context) (int, error) { return 0, boom }
		_, err := Do(context.Background(), ex, "db", fn)
		assert.ErrorIs(t, err, ErrRetriesExhausted)
		time.Sleep(time.Millisecond)
		st, _ := ex.Stats("db")
		assert.Equal(t, Closed, st.State, "three failed attempts, one failed job")
		assert.Equal(t, 1, st.ConsecutiveFailures)
		_, err = Do(context.Background(), ex, "db", fn)
		assert.ErrorIs(t, err, ErrRetriesExhausted)
		time.Sleep(time.Millisecond)
		st, _ = ex.Stats("db")
		assert.Equal(t, Open, st.State)
		assert.Equal(t, uint64(6), st.Attempts)
	})
}

// lateBreaker starts dependency "db", whose breaker trips at its first
// failure and stays open a second. Once crashNext is set, the breaker
// actor's next step crashes it, and its restart 100 ms later is the only
// way its view moves on: the breaker is late.
func lateBreaker(t *testing.T) (*Executor, *atomic.Bool) {
	p := tripOnce()
	p.Breaker.OpenTimeout = time.Second
	p.Restart = supervisor.Policy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	crashNext := new(atomic.Bool)
	ex := start(t, WithDependency("db", p), WithFaultHook(func(s Site, _ string) {
		if s == SiteBreaker && crashNext.CompareAndSwap(true, false) {
			panic("breaker late")
		}
	}))
	return ex, crashNext
}

// A call made after the open period ended is a probe even while the
// breaker actor is late to move on (before v2, under CPU load, a cached
// rejection outlived its timer and turned such a call away with a
// RetryAfter 60 ms too long). RetryAfter counts down exactly meanwhile.
func TestCallAfterTheOpenPeriodIsAProbeEvenIfTheActorIsLate(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex, crashNext := lateBreaker(t)
		t0 := time.Now()
		_, _ = Do(context.Background(), ex, "db", failDown)
		synctest.Wait()       // the breaker has tripped
		crashNext.Store(true) // the move to half-open crashes once: the view stays OPEN 100ms longer
		for _, at := range []time.Duration{400 * time.Millisecond, 999 * time.Millisecond} {
			time.Sleep(at - time.Since(t0))
			_, err := Do(context.Background(), ex, "db", failDown)
			var ce *CircuitOpenError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, time.Second-at, ce.RetryAfter())
		}
		time.Sleep(time.Second + 25*time.Millisecond - time.Since(t0))
		db, _ := ex.Dependency("db")
		require.Equal(t, Open, db.Stats().State, "the actor is still restarting")
		v, err := Call(context.Background(), db, func(context.Context) (string, error) { return "probe", nil })
		require.NoError(t, err, "admitted as a probe, not rejected")
		assert.Equal(t, "probe", v)
		assert.Equal(t, 1100*time.Millisecond, time.Since(t0), "granted once the actor is back")
		time.Sleep(time.Millisecond)
		assert.Equal(t, Closed, db.Stats().State)
	})
}

// A probe that ends without running (its caller cancelled it while it
// waited in the queue) gives its permit back, so HALF_OPEN does not wait
// for MaxHalfOpenWait to admit the next probe.
func TestProbeCancelledInTheQueueGivesItsPermitBack(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Retry = retrier.Policy{MaxAttempts: 1}
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second, MaxHalfOpenWait: time.Hour}
		p.Pool = Pool{Workers: 2, Queue: 2}
		ex := start(t, WithDependency("db", p))
		db, _ := ex.Dependency("db")
		block := func(c chan error) func(context.Context) (string, error) {
			return func(context.Context) (string, error) { return "", <-c }
		}
		x, x2, f := make(chan error), make(chan error), make(chan error)
		fx := Go(context.Background(), db, block(x))
		fx2 := Go(context.Background(), db, block(x2))
		ff := Go(context.Background(), db, block(f)) // queued
		synctest.Wait()
		x <- errors.New("down") // trips the breaker; f's job takes the worker
		_, _ = fx.Wait(context.Background())
		synctest.Wait()
		require.Equal(t, Open, db.Stats().State)
		time.Sleep(time.Second)

		ctx, cancel := context.WithCancel(context.Background())
		probe := Go(ctx, db, func(context.Context) (string, error) { return "never", nil })
		synctest.Wait()
		require.Equal(t, 1, db.Stats().Queued, "granted, waiting for a worker")
		cancel()
		_, err := probe.Wait(context.Background())
		assert.ErrorIs(t, err, context.Canceled)
		f <- nil // frees a worker, which lets the cancelled probe go
		_, _ = ff.Wait(context.Background())
		synctest.Wait()

		v, err := Call(context.Background(), db, func(context.Context) (string, error) { return "probe", nil })
		require.NoError(t, err, "the permit came back")
		assert.Equal(t, "probe", v)
		synctest.Wait()
		assert.Equal(t, Closed, db.Stats().State)
		x2 <- nil
		_, _ = fx2.Wait(context.Background())
	})
}
