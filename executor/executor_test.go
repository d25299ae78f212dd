package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
)

var errBoom = errors.New("boom")

func ok(v int) func(context.Context) (int, error) {
	return func(context.Context) (int, error) { return v, nil }
}

func TestDoAndSubmit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		v, err := Do(t.Context(), ex, "db", ok(42))
		require.NoError(t, err)
		assert.Equal(t, 42, v)

		release := make(chan struct{})
		f := ex.Submit(t.Context(), "db", func(ctx context.Context) (any, error) {
			<-release
			return "done", nil
		})
		_, _, ready := f.Result()
		assert.False(t, ready, "Submit returns before the job ends")
		select {
		case <-f.Done():
			t.Fatal("done too early")
		default:
		}
		short, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err = f.Wait(short)
		cancel()
		assert.ErrorIs(t, err, context.DeadlineExceeded, "Wait's own context ends the wait, not the job")
		close(release)
		got, err := f.Wait(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "done", got)
		got, err, ready = f.Result()
		assert.True(t, ready)
		assert.Equal(t, "done", got)
		assert.NoError(t, err)
	})
}

func TestDoReturnsTheZeroValueOnError(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Retry.MaxAttempts = 1
		ex := start(t, WithDependency("db", p))
		v, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { return 7, errBoom })
		assert.ErrorIs(t, err, errBoom)
		assert.Zero(t, v)
		var nilErr error
		s, err := Do(t.Context(), ex, "db", func(context.Context) (error, error) { return nilErr, nil })
		assert.NoError(t, err)
		assert.Nil(t, s, "a nil interface value comes back as the zero value")
	})
}

func TestRetriesUntilSuccessWithBackoffInFakeTime(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Retry = retrier.Policy{MaxAttempts: 4, InitialDelay: 100 * time.Millisecond, Multiplier: 2, Jitter: retrier.NoJitter}
		ex := start(t, WithDependency("db", p))
		var calls []time.Duration
		t0 := time.Now()
		v, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) {
			calls = append(calls, time.Since(t0))
			if len(calls) < 3 {
				return 0, io.ErrUnexpectedEOF
			}
			return 9, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 9, v)
		assert.Equal(t, []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond}, calls, "attempts start exactly after each backoff")
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(3), st.Attempts)
		assert.Equal(t, uint64(2), st.Retries)
		assert.Equal(t, uint64(1), st.Succeeded)
	})
}

func TestRetriesExhausted(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		var n atomic.Int32
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) {
			n.Add(1)
			return 0, fmt.Errorf("attempt %d: %w", n.Load(), io.ErrUnexpectedEOF)
		})
		var re *RetryError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, ErrRetriesExhausted)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the last error is reachable")
		assert.Equal(t, 3, re.Attempts)
		assert.EqualError(t, re.Last, "attempt 3: unexpected EOF")
		assert.Equal(t, int32(3), n.Load(), "never more than MaxAttempts")
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1), st.Failed)
	})
}

func TestPermanentAndNonRetryableErrorsAreNotRetried(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Retry.RetryIf = retrier.IsTransient
		ex := start(t, WithDependency("db", p))
		for _, e := range []error{retrier.Permanent(io.ErrUnexpectedEOF), errBoom} {
			var n atomic.Int32
			_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { n.Add(1); return 0, e })
			assert.ErrorIs(t, err, e)
			assert.NotErrorIs(t, err, ErrRetriesExhausted)
			assert.Equal(t, int32(1), n.Load())
		}
	})
}

func TestRetryAfterIsHonoured(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("api", fast()))
		var at []time.Duration
		t0 := time.Now()
		_, err := Do(t.Context(), ex, "api", func(context.Context) (int, error) {
			at = append(at, time.Since(t0))
			if len(at) == 1 {
				return 0, retrier.RetryAfter(2*time.Second, errBoom)
			}
			return 1, nil
		})
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{0, 2 * time.Second}, at)
	})
}

func TestNoRetryIsScheduledPastTheDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Timeout = 250 * time.Millisecond
		p.Retry = retrier.Policy{MaxAttempts: 10, InitialDelay: 100 * time.Millisecond, Multiplier: 2, Jitter: retrier.NoJitter}
		ex := start(t, WithDependency("db", p))
		var n atomic.Int32
		t0 := time.Now()
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { n.Add(1); return 0, errBoom })
		// Attempts at 0 and 100 ms; the next would start at 300 ms, past
		// the 250 ms deadline, so the job stops at 100 ms.
		assert.Equal(t, int32(2), n.Load())
		assert.Equal(t, 100*time.Millisecond, time.Since(t0))
		var re *RetryError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 2, re.Attempts)
	})
}

func TestAttemptTimeoutIsRetriedAndTyped(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.AttemptTimeout = time.Second
		p.TimeoutKind = KindNetwork
		ex := start(t, WithDependency("api", p))
		var n atomic.Int32
		_, err := Do(t.Context(), ex, "api", func(ctx context.Context) (int, error) {
			n.Add(1)
			dl, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.Equal(t, time.Second, time.Until(dl), "each attempt gets AttemptTimeout")
			<-ctx.Done()
			return 0, ctx.Err()
		})
		assert.Equal(t, int32(3), n.Load())
		var re *RetryError
		require.ErrorAs(t, err, &re)
		var te *TimeoutError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, time.Second, te.Duration)
		assert.Equal(t, "api", te.Operation)
		assert.ErrorIs(t, err, ErrNetworkTimeout)
	})
}

func TestJobDeadlineAndCallerDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Timeout = 5 * time.Second
		ex := start(t, WithDependency("db", p))
		block := func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }

		t0 := time.Now()
		_, err := Do(t.Context(), ex, "db", block)
		var te *TimeoutError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 5*time.Second, te.Duration)
		assert.Equal(t, KindProcessing, te.Kind)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 5*time.Second, time.Since(t0))

		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		t0 = time.Now()
		_, err = Do(ctx, ex, "db", block)
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 2*time.Second, te.Duration, "the caller's earlier deadline wins")
		assert.Equal(t, 2*time.Second, time.Since(t0))
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(2), st.TimedOut)
	})
}

func TestJobIgnoringItsContextIsAbandonedAtTheDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Pool = Pool{Workers: 1, Queue: 1}
		ex := start(t, WithDependency("db", p))
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := Do(ctx, ex, "db", func(context.Context) (int, error) {
			time.Sleep(3 * time.Second) // ignores its context
			return 1, nil
		})
		assert.ErrorIs(t, err, ErrTimeout)
		assert.Equal(t, time.Second, time.Since(t0), "the caller gets its timeout at the deadline")
		st, _ := ex.Stats("db")
		assert.Equal(t, int64(1), st.InFlight, "the worker is still busy")

		// The single worker is held, so the next job waits in the queue.
		f := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { return "next", nil })
		v, err := f.Wait(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "next", v)
		assert.Equal(t, 3*time.Second, time.Since(t0), "it ran when the abandoned attempt returned")
		synctest.Wait()
		st, _ = ex.Stats("db")
		assert.Equal(t, uint64(1), st.Abandoned)
		assert.Equal(t, int64(0), st.InFlight)
	})
}

func TestCallerCancellation(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Breaker = breaker.Policy{FailureThreshold: 1}
		ex := start(t, WithDependency("db", p))
		ctx, cancel := context.WithCancel(t.Context())
		jobCtx := make(chan context.Context, 1)
		f := ex.Submit(ctx, "db", func(ctx context.Context) (any, error) {
			jobCtx <- ctx
			<-ctx.Done()
			return nil, ctx.Err()
		})
		jc := <-jobCtx
		cancel()
		_, err := f.Wait(t.Context())
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, ErrTimeout)
		assert.ErrorIs(t, jc.Err(), context.Canceled, "the job's context is cancelled with the caller's")
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1), st.Cancelled)
		assert.Equal(t, Closed, st.State, "a caller's cancellation never trips the breaker")

		done, cancel2 := context.WithCancel(t.Context())
		cancel2()
		_, err = Do(done, ex, "db", ok(1))
		assert.ErrorIs(t, err, context.Canceled, "a context already done is answered at once")
	})
}

func TestCancellationWithdrawsAPendingRetry(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Retry.InitialDelay = time.Hour
		p.Timeout = 2 * time.Hour
		ex := start(t, WithDependency("db", p))
		ctx, cancel := context.WithCancel(t.Context())
		var n atomic.Int32
		f := ex.Submit(ctx, "db", func(context.Context) (any, error) { n.Add(1); return nil, errBoom })
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.Equal(t, 1, st.PendingRetries)
		assert.Equal(t, int64(1), ex.Gauges().Timers)
		t0 := time.Now()
		cancel()
		_, err := f.Wait(t.Context())
		assert.ErrorIs(t, err, context.Canceled)
		synctest.Wait()
		assert.Equal(t, t0, time.Now(), "answered at once, not when the backoff ends")
		st, _ = ex.Stats("db")
		assert.Equal(t, 0, st.PendingRetries)
		assert.Equal(t, int64(0), ex.Gauges().Timers, "the timer is stopped")
		assert.Equal(t, int32(1), n.Load())
	})
}

func TestValidationErrors(t *testing.T) {
	_, err := New(
		WithDependency("", Policy{}),
		WithDependency("db", Policy{Timeout: -1, Pool: Pool{Workers: -1}, Breaker: breaker.Policy{FailureRateThreshold: 2}}),
		WithDependency("dup", Policy{}),
		WithDependency("dup", Policy{}),
	)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidPolicy)
	for _, want := range []string{"empty dependency name", `"dup" registered twice`, "executor.Policy.Timeout", "executor.Policy.Pool.Workers", "executor.Policy.Breaker.FailureRateThreshold"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.ErrorIs(t, Policy{AttemptTimeout: time.Minute, Timeout: time.Second}.Validate(), ErrInvalidPolicy)
	assert.ErrorIs(t, Policy{TimeoutKind: 9}.Validate(), ErrInvalidPolicy)

	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		assert.ErrorIs(t, ex.Register("db", fast()), ErrInvalidPolicy, "duplicate at run time")
		assert.ErrorIs(t, ex.Register("", fast()), ErrInvalidPolicy)
		assert.ErrorIs(t, ex.Register("x", Policy{Retry: retrier.Policy{MaxAttempts: -1}}), ErrInvalidPolicy)
		require.NoError(t, ex.Register("search", ExternalAPIPolicy()))
		_, err := Do(t.Context(), ex, "search", ok(3))
		assert.NoError(t, err)

		_, err = Do(t.Context(), ex, "nope", ok(1))
		assert.ErrorIs(t, err, ErrUnknownDependency)
		assert.Contains(t, err.Error(), `"nope"`)
		_, err = ex.Stats("nope")
		assert.ErrorIs(t, err, ErrUnknownDependency)

		_, err = Do[int](t.Context(), ex, "db", nil)
		assert.ErrorIs(t, err, ErrInvalidJob)
		//lint:ignore SA1012 a nil context is the bad input under test
		_, err = ex.Submit(nil, "db", func(context.Context) (any, error) { return nil, nil }).Wait(t.Context()) //nolint:staticcheck
		assert.ErrorIs(t, err, ErrInvalidJob)
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(0), st.Submitted, "invalid jobs are not counted")
	})
}

func TestSubmitAfterShutdown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex, err := New(WithDependency("db", fast()))
		require.NoError(t, err)
		stop(t, ex)
		_, err = Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrShutdown)
		assert.ErrorIs(t, ex.Register("late", fast()), ErrShutdown)
		assert.NoError(t, ex.Shutdown(t.Context()), "idempotent")
	})
}

func TestPresets(t *testing.T) {
	db := DatabasePolicy()
	assert.Equal(t, StandardTimeout, db.Timeout)
	assert.Equal(t, 30*time.Second, db.Timeout)
	assert.Equal(t, 3, db.Breaker.FailureThreshold)
	assert.Equal(t, 30*time.Second, db.Breaker.OpenTimeout)
	assert.Equal(t, 3, db.Retry.MaxAttempts)
	api := ExternalAPIPolicy()
	assert.Equal(t, 10*time.Second, api.Timeout)
	assert.Equal(t, NetworkTimeout, api.Timeout)
	assert.Equal(t, KindNetwork, api.TimeoutKind)
	assert.Equal(t, 5, api.Breaker.FailureThreshold)
	assert.Equal(t, 60*time.Second, api.Breaker.OpenTimeout)
	require.NoError(t, db.Validate())
	require.NoError(t, api.Validate())
	d := Policy{}.withDefaults()
	assert.Equal(t, Pool{Workers: DefaultWorkers, Queue: DefaultQueue}, d.Pool)
	assert.Equal(t, StandardTimeout, d.Timeout)
}

func TestWithActorSystem(t *testing.T) {
	bubble(t, func(t *testing.T) {
		sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.DiscardHandler)
		}))
		ex := start(t, WithDependency("db", fast()), WithActorSystem(sys))
		v, err := Do(t.Context(), ex, "db", ok(2))
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		stop(t, ex)
		assert.False(t, sys.IsStopped(), "the caller's system is the caller's to stop")
		sys.Shutdown()
	})
}

// A retry timer that fires after its job's deadline (real timers can be
// late) must time the job out, not deadlock the retrier's hand-over. Fake
// time never fires late, so the test re-plans the retry past the deadline.
func TestLateRetryAfterTheDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Timeout = time.Second
		ex := start(t, WithDependency("db", p))
		f := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { return nil, errBoom })
		synctest.Wait()
		d, _ := ex.lookup("db")
		j := (*job)(unsafe.Pointer(f)) // the Future is the job's first field
		require.True(t, d.retrier.Cancel(j), "the job waits for its retry")
		require.True(t, d.retrier.Request(j, 2*time.Second))
		_, err := f.Wait(t.Context())
		var te *TimeoutError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, time.Second, te.Duration)
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1), st.TimedOut)
		assert.Zero(t, st.InFlight)
	})
}

// An idle worker stays parked on the queue for its keep-alive, reached by
// one channel send, then ends its run (asleep) and is woken by a message.
func TestIdleWorkersParkThenSleep(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Pool = Pool{Workers: 3, Queue: 3}
		ex := start(t, WithDependency("db", p))
		d, _ := ex.lookup("db")
		for i := range 3 {
			v, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { return i, nil })
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		synctest.Wait()
		assert.Less(t, len(d.idle), 3, "a worker that ran a job is parked, not asleep")

		time.Sleep(workerKeepAlive / 2)
		synctest.Wait()
		assert.Less(t, len(d.idle), 3, "still parked within the keep-alive")
		time.Sleep(2 * workerKeepAlive)
		synctest.Wait()
		assert.Equal(t, 3, len(d.idle), "every worker is asleep once its keep-alive ended")

		v, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { return 42, nil })
		require.NoError(t, err)
		assert.Equal(t, 42, v, "an asleep worker is woken by a message")
	})
}

// Jobs that arrive at and around the instant idle workers' keep-alive
// ends are still taken: by a parked worker, or by an asleep one woken by a
// message. A job no worker takes ends with a timeout and fails the test.
func TestJobsArrivingAsKeepAliveEnds(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 2, Queue: 2}
		ex := start(t, WithDependency("db", p))
		gaps := []time.Duration{workerKeepAlive, 2 * workerKeepAlive, workerKeepAlive + time.Nanosecond, workerKeepAlive - time.Nanosecond, 0}
		jobs := 0
		for i := range 400 {
			var wg sync.WaitGroup
			jobs += 1 + i%3
			for k := range 1 + i%3 {
				wg.Go(func() {
					v, err := Do(t.Context(), ex, "db", ok(k))
					assert.NoError(t, err)
					assert.Equal(t, k, v)
				})
			}
			wg.Wait()
			time.Sleep(gaps[i%len(gaps)])
		}
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(jobs), st.Succeeded)
	})
}
