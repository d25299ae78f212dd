package executor

import (
	"context"
	"errors"
	"math"
	"runtime"
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
		{"unknown breaker order", Policy{BreakerCounts: 2}, "BreakerCounts"},
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
			assert.Equal(t, []string{tc.field}, policyerr.Fields(err))
			ex, err := New(WithDependency("db", tc.p))
			assert.Nil(t, ex)
			assert.ErrorIs(t, err, ErrInvalidPolicy, "New fails at construction")
			assert.Equal(t, []string{tc.field}, policyerr.Fields(err), "New names the field")
		})
	}
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		for _, tc := range cases {
			err := ex.Register("new", tc.p)
			assert.ErrorIs(t, err, ErrInvalidPolicy, tc.name)
			assert.Equal(t, []string{tc.field}, policyerr.Fields(err), tc.name)
		}
		_, err := ex.Stats("new")
		assert.ErrorIs(t, err, ErrUnknownDependency, "nothing was registered")
		synctest.Wait()
		assert.Equal(t, int64(3), ex.Gauges().Actors, "nothing was left running")
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
		assert.ErrorIs(t, ex.Register("", fast()), ErrInvalidPolicy)
	})
}

type nilErr struct{}

func (*nilErr) Error() string { return "typed nil" }

func TestBadJobs(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Timeout = time.Second
		ex := start(t, WithDependency("db", p))
		db, err := ex.Dependency("db")
		require.NoError(t, err)
		ctx := t.Context()
		cases := []struct {
			name string
			run  func() error
			want error
		}{
			{"nil function", func() error { _, err := Do[int](ctx, ex, "db", nil); return err }, ErrInvalidJob},
			{"nil function, Call", func() error { _, err := Call[int](ctx, db, nil); return err }, ErrInvalidJob},
			{"nil function, Submit", func() error { _, err := Submit[int](ctx, ex, "db", nil).Wait(ctx); return err }, ErrInvalidJob},
			{"nil function, Go", func() error { _, err := Go[int](ctx, db, nil).Wait(ctx); return err }, ErrInvalidJob},
			{"nil function, Wrap", func() error { _, err := Wrap[int](db, nil)(ctx); return err }, ErrInvalidJob},
			{"nil dependency", func() error { _, err := Call(ctx, nil, ok(1)); return err }, ErrInvalidJob},
			{"nil dependency, Go", func() error { _, err := Go(ctx, nil, ok(1)).Wait(ctx); return err }, ErrInvalidJob},
			{"nil context", func() error {
				//lint:ignore SA1012 the bad input under test
				_, err := Do(nil, ex, "db", ok(1)) //nolint:staticcheck
				return err
			}, ErrInvalidJob},
			{"nil context, Go", func() error {
				//lint:ignore SA1012 the bad input under test
				_, err := Go(nil, db, ok(1)).Wait(ctx) //nolint:staticcheck
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
			{"unknown dependency, Submit", func() error { _, err := Submit(ctx, ex, "nope", ok(1)).Wait(ctx); return err }, ErrUnknownDependency},
			{"panic(nil)", func() error {
				_, err := Do(ctx, ex, "db", func(context.Context) (int, error) { panic(nil) })
				return err
			}, ErrPanic},
			{"runtime.Goexit", func() error {
				_, err := Do(ctx, ex, "db", func(context.Context) (int, error) { runtime.Goexit(); return 0, nil })
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
		assert.Equal(t, uint64(1), st.Abandoned, "the hour-long job's worker was abandoned at the deadline")
		assert.Equal(t, int64(1), st.AbandonedWorkers, "and is still stuck in it")
		assert.Zero(t, st.InFlight, "the job itself has ended")
		assert.Equal(t, int64(p.Pool.Workers), ex.Gauges().Workers, "a replacement keeps the pool's size")
		time.Sleep(time.Hour)
		synctest.Wait()
		st, _ = ex.Stats("db")
		assert.Equal(t, uint64(1), st.Abandoned)
		assert.Zero(t, st.AbandonedWorkers, "it returned and let go")
		assert.Zero(t, st.InFlight)
	})
}

func TestPanicIsContainedAndThePoolKeepsItsSize(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1000}
		p.Pool = Pool{Workers: 2, Queue: 2}
		ex := start(t, WithDependency("db", p))
		for i := range 20 {
			_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { panic(i) })
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, i, pe.Value)
			assert.Contains(t, string(pe.Stack), "badinput_test.go", "the stack shows where the job panicked")
		}
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { panic(nil) })
		assert.ErrorIs(t, err, ErrPanic, "panic(nil) is a panic too")

		// Both workers still serve: two jobs run at once.
		var both sync.WaitGroup
		both.Add(2)
		f1 := Submit(t.Context(), ex, "db", func(context.Context) (int, error) { both.Done(); both.Wait(); return 1, nil })
		f2 := Submit(t.Context(), ex, "db", func(context.Context) (int, error) { both.Done(); both.Wait(); return 2, nil })
		v1, err1 := f1.Wait(t.Context())
		v2, err2 := f2.Wait(t.Context())
		assert.NoError(t, err1)
		assert.NoError(t, err2)
		assert.Equal(t, []int{1, 2}, []int{v1, v2})
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(21), st.Panicked)
		assert.Equal(t, uint64(0), st.Restarts, "a job's panic is not an actor crash")
		assert.Equal(t, int64(2), ex.Gauges().Workers)
	})
}

func TestGoexitInAJob(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 1, Queue: 2}
		ex := start(t, WithDependency("db", p))
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) {
			runtime.Goexit()
			return 1, nil
		})
		assert.ErrorIs(t, err, ErrPanic)
		// The single worker was replaced and serves again.
		v, err := Do(t.Context(), ex, "db", ok(8))
		require.NoError(t, err)
		assert.Equal(t, 8, v)
		assert.Equal(t, int64(1), ex.Gauges().Workers)
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
			Submit(t.Context(), ex, "db", ok(1))
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
		assert.ErrorIs(t, ex.Register("late", fast()), ErrShutdown)
		assert.Equal(t, Gauges{}, ex.Gauges())
		survived.shutdowns.Add(1)
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
		for _, op := range []BreakerControl{ForceOpenBreaker, DisableBreaker, ResetBreaker, ForceOpenBreaker, ResetBreaker} {
			time.Sleep(10 * time.Millisecond)
			_, err := ex.ControlBreaker(t.Context(), "db", op)
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

// A listener that panics is counted and goes on getting events; the
// other listeners and the jobs never notice.
func TestPanickingListener(t *testing.T) {
	bubble(t, func(t *testing.T) {
		badInputs.Add(1)
		var heard atomic.Int32
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second}
		ex := start(t, WithDependency("db", p),
			WithEvents(func(Event) { panic("listener") }, 0),
			WithEvents(func(e Event) {
				if e.Kind == EventStateChange {
					heard.Add(1)
				}
			}, 0))
		_, err := Do(t.Context(), ex, "db", fail)
		require.ErrorIs(t, err, errBoom)
		time.Sleep(time.Second)
		v, err := Do(t.Context(), ex, "db", ok(2))
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, int32(3), heard.Load(), "closed>open, open>half-open, half-open>closed")
		assert.Equal(t, uint64(5), st.ListenerPanics, "three state changes and two job ends")
		assert.Zero(t, st.EventsDropped)
	})
}
