package executor

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/actors/supervisor"
	"github.com/warden-go/warden/internal/policyerr"
)

// badInputs counts the bad inputs tried, for the summary line.
var badInputs atomic.Int64

func TestBadPolicies(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name  string
		p     Policy
		field string
	}{
		{"negative timeout", Policy{Timeout: -1}, "Timeout"},
		{"negative attempt timeout", Policy{AttemptTimeout: -time.Second}, "AttemptTimeout"},
		{"attempt timeout above timeout", Policy{Timeout: time.Second, AttemptTimeout: time.Minute}, "AttemptTimeout"},
		{"attempt timeout above the default timeout", Policy{AttemptTimeout: time.Hour}, "AttemptTimeout"},
		{"unknown timeout kind", Policy{TimeoutKind: 7}, "TimeoutKind"},
		{"negative workers", Policy{Pool: Pool{Workers: -1}}, "Pool.Workers"},
		{"too many workers", Policy{Pool: Pool{Workers: MaxPoolSize + 1}}, "Pool.Workers"},
		{"negative queue", Policy{Pool: Pool{Queue: -5}}, "Pool.Queue"},
		{"negative attempts", Policy{Retry: retrier.Policy{MaxAttempts: -1}}, "Retry.MaxAttempts"},
		{"negative delay", Policy{Retry: retrier.Policy{InitialDelay: -1}}, "Retry.InitialDelay"},
		{"NaN multiplier", Policy{Retry: retrier.Policy{Multiplier: nan}}, "Retry.Multiplier"},
		{"+Inf multiplier", Policy{Retry: retrier.Policy{Multiplier: inf}}, "Retry.Multiplier"},
		{"-Inf multiplier", Policy{Retry: retrier.Policy{Multiplier: -inf}}, "Retry.Multiplier"},
		{"shrinking multiplier", Policy{Retry: retrier.Policy{Multiplier: 0.5}}, "Retry.Multiplier"},
		{"cap below initial delay", Policy{Retry: retrier.Policy{InitialDelay: time.Minute, MaxDelay: time.Second}}, "Retry.MaxDelay"},
		{"unknown jitter", Policy{Retry: retrier.Policy{Jitter: 42}}, "Retry.Jitter"},
		{"NaN jitter factor", Policy{Retry: retrier.Policy{JitterFactor: nan}}, "Retry.JitterFactor"},
		{"negative threshold", Policy{Breaker: breaker.Policy{FailureThreshold: -3}}, "Breaker.FailureThreshold"},
		{"NaN failure rate", Policy{Breaker: breaker.Policy{FailureRateThreshold: nan}}, "Breaker.FailureRateThreshold"},
		{"+Inf failure rate", Policy{Breaker: breaker.Policy{FailureRateThreshold: inf}}, "Breaker.FailureRateThreshold"},
		{"failure rate above one", Policy{Breaker: breaker.Policy{FailureRateThreshold: 1.01}}, "Breaker.FailureRateThreshold"},
		{"slow rate without duration", Policy{Breaker: breaker.Policy{SlowCallRateThreshold: 0.5}}, "Breaker.SlowCallDuration"},
		{"minimum calls above window", Policy{Breaker: breaker.Policy{MinimumCalls: 50, WindowSize: 10}}, "Breaker.MinimumCalls"},
		{"negative open timeout", Policy{Breaker: breaker.Policy{OpenTimeout: -time.Second}}, "Breaker.OpenTimeout"},
		{"NaN open multiplier", Policy{Breaker: breaker.Policy{OpenTimeoutMultiplier: nan}}, "Breaker.OpenTimeoutMultiplier"},
		{"open cap below open timeout", Policy{Breaker: breaker.Policy{OpenTimeout: time.Minute, MaxOpenTimeout: time.Second}}, "Breaker.MaxOpenTimeout"},
		{"successes above probes", Policy{Breaker: breaker.Policy{HalfOpenProbes: 1, SuccessesToClose: 2}}, "Breaker.SuccessesToClose"},
		{"negative half-open wait", Policy{Breaker: breaker.Policy{MaxHalfOpenWait: -1}}, "Breaker.MaxHalfOpenWait"},
		{"thin time buckets", Policy{Breaker: breaker.Policy{WindowDuration: time.Millisecond, WindowBuckets: 10}}, "Breaker.WindowDuration"},
		{"negative restarts", Policy{Restart: supervisor.Policy{MaxRestarts: -1}}, "Restart.MaxRestarts"},
		{"NaN restart jitter", Policy{Restart: supervisor.Policy{Jitter: nan}}, "Restart.Jitter"},
		{"+Inf restart multiplier", Policy{Restart: supervisor.Policy{Multiplier: inf}}, "Restart.Multiplier"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			badInputs.Add(1)
			err := tc.p.Validate()
			require.ErrorIs(t, err, ErrInvalidPolicy)
			assert.Contains(t, policyerr.Fields(err), tc.field)
			_, err = New(WithDependency("db", tc.p))
			assert.ErrorIs(t, err, ErrInvalidPolicy, "New fails at construction")
			assert.Contains(t, err.Error(), "executor.Policy."+tc.field)
		})
	}
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		for _, tc := range cases {
			assert.ErrorIs(t, ex.Register("new", tc.p), ErrInvalidPolicy, tc.name)
		}
		_, err := ex.Stats("new")
		assert.ErrorIs(t, err, ErrUnknownDependency, "nothing was registered")
	})
}

func TestBadNames(t *testing.T) {
	badInputs.Add(3)
	_, err := New(WithDependency("", fast()))
	assert.ErrorIs(t, err, ErrInvalidPolicy)
	_, err = New(WithDependency("db", fast()), WithDependency("db", fast()))
	assert.ErrorIs(t, err, ErrInvalidPolicy)
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		assert.ErrorIs(t, ex.Register("db", fast()), ErrInvalidPolicy)
	})
}

type nilErr struct{}

func (*nilErr) Error() string { return "typed nil" }

func TestBadJobs(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Timeout = time.Second
		ex := start(t, WithDependency("db", p))
		ctx := t.Context()
		cases := []struct {
			name string
			run  func() error
			want error
		}{
			{"nil function", func() error { _, err := Do[int](ctx, ex, "db", nil); return err }, ErrInvalidJob},
			{"nil function, Submit", func() error { _, err := ex.Submit(ctx, "db", nil).Wait(ctx); return err }, ErrInvalidJob},
			{"nil context", func() error {
				//lint:ignore SA1012 the bad input under test
				_, err := Do(nil, ex, "db", ok(1)) //nolint:staticcheck
				return err
			}, ErrInvalidJob},
			{"cancelled context", func() error {
				c, cancel := context.WithCancel(ctx)
				cancel()
				_, err := Do(c, ex, "db", ok(1))
				return err
			}, context.Canceled},
			{"deadline in the past", func() error {
				c, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
				defer cancel()
				_, err := Do(c, ex, "db", ok(1))
				return err
			}, context.DeadlineExceeded},
			{"unknown dependency", func() error { _, err := Do(ctx, ex, "nope", ok(1)); return err }, ErrUnknownDependency},
			{"panic(nil)", func() error {
				_, err := Do(ctx, ex, "db", func(context.Context) (int, error) { panic(nil) })
				return err
			}, ErrPanic},
			{"runtime.Goexit", func() error {
				_, err := Do(ctx, ex, "db", func(context.Context) (int, error) { runtimeGoexit(); return 0, nil })
				return err
			}, ErrPanic},
			{"typed nil error", func() error {
				_, err := Do(ctx, ex, "db", func(context.Context) (int, error) { var e *nilErr; return 0, e })
				var te *nilErr
				if !errors.As(err, &te) {
					return errors.New("the typed nil did not come back")
				}
				return nil
			}, nil},
			{"a job that does not return for an hour, ignoring its context", func() error {
				_, err := Do(ctx, ex, "db", func(context.Context) (int, error) { time.Sleep(time.Hour); return 1, nil })
				return err
			}, ErrTimeout},
		}
		for _, tc := range cases {
			badInputs.Add(1)
			err := tc.run()
			if tc.want == nil {
				assert.NoError(t, err, tc.name)
			} else {
				assert.ErrorIs(t, err, tc.want, tc.name)
			}
		}
		st, _ := ex.Stats("db")
		assert.Equal(t, st.Submitted, st.Ended(), "nothing lost")
		assert.Equal(t, int64(1), st.InFlight, "the hour-long job still holds its worker")
		time.Sleep(time.Hour)
		synctest.Wait()
		st, _ = ex.Stats("db")
		assert.Equal(t, uint64(1), st.Abandoned, "it was counted as abandoned work when it returned")
		assert.Zero(t, st.InFlight)
	})
}

// A caller that never reads its result loses nothing and leaks nothing:
// the job still ends and is counted.
func TestCallerThatNeverReads(t *testing.T) {
	bubble(t, func(t *testing.T) {
		badInputs.Add(1)
		p := fast()
		p.Pool.Queue = 128
		ex := start(t, WithDependency("db", p))
		for range 100 {
			ex.Submit(t.Context(), "db", func(context.Context) (any, error) { return 1, nil })
		}
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(100), st.Succeeded)
		assert.Zero(t, st.InFlight)
	})
}

func TestSubmitDuringShutdown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		badInputs.Add(2)
		p := fast()
		p.Pool.Queue = 256
		ex, err := New(WithDependency("db", p))
		require.NoError(t, err)
		var wg sync.WaitGroup
		var results sync.Map
		for i := range 200 {
			wg.Go(func() {
				_, err := Do(t.Context(), ex, "db", ok(1))
				results.Store(i, err)
			})
			if i == 100 {
				wg.Go(func() { _ = ex.Shutdown(context.Background()) })
			}
		}
		wg.Wait()
		n := 0
		results.Range(func(_, v any) bool {
			n++
			if err, _ := v.(error); err != nil {
				assert.ErrorIs(t, err, ErrShutdown)
			}
			return true
		})
		assert.Equal(t, 200, n, "every call was answered")
		require.NoError(t, ex.Shutdown(context.Background()))
		_, err = Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrShutdown, "after shutdown")
	})
}

func TestManualControlDuringTraffic(t *testing.T) {
	bubble(t, func(t *testing.T) {
		badInputs.Add(1)
		p := noRetry(fast())
		p.Pool.Queue = 16 // room for the 8 callers: only the breaker turns jobs away
		ex := start(t, WithDependency("db", p))
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := Do(t.Context(), ex, "db", ok(1))
					if err != nil {
						assert.ErrorIs(t, err, ErrCircuitOpen)
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
		for _, op := range []Control{ForceOpenBreaker, DisableBreaker, ResetBreaker, ForceOpenBreaker, ResetBreaker} {
			time.Sleep(10 * time.Millisecond)
			_, err := ex.Breaker(t.Context(), "db", op)
			require.NoError(t, err)
		}
		close(stop)
		wg.Wait()
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, Closed, st.State)
		assert.NotZero(t, st.ShortCircuited)
		assert.Equal(t, st.Submitted, st.Ended())
	})
}
