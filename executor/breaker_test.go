package executor

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
)

func noRetry(p Policy) Policy {
	p.Retry = retrier.Policy{MaxAttempts: 1}
	return p
}

func fail(context.Context) (int, error) { return 0, errBoom }

func TestBreakerOpensAndShortCircuitsWithoutRunning(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Breaker = breaker.Database()
		var events []Event
		var mu sync.Mutex
		ex := start(t, WithDependency("db", p), WithEvents(func(e Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}, 0))
		for range 3 {
			_, err := Do(t.Context(), ex, "db", fail)
			assert.ErrorIs(t, err, errBoom)
		}
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.Equal(t, Open, st.State)

		var runs atomic.Int32
		start := time.Now()
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { runs.Add(1); return 1, nil })
		var ce *CircuitOpenError
		require.ErrorAs(t, err, &ce)
		assert.ErrorIs(t, err, ErrCircuitOpen)
		assert.Equal(t, "db", ce.Name)
		assert.Equal(t, 3, ce.FailureCount)
		assert.Equal(t, 30*time.Second, ce.RetryAfter)
		assert.Equal(t, start, ce.LastFailure)
		assert.Zero(t, runs.Load(), "an open breaker never runs the job")

		time.Sleep(30 * time.Second)
		synctest.Wait()
		st, _ = ex.Stats("db")
		assert.Equal(t, HalfOpen, st.State, "the breaker's own timer moves it on time")
		v, err := Do(t.Context(), ex, "db", ok(5))
		require.NoError(t, err)
		assert.Equal(t, 5, v)
		synctest.Wait()
		st, _ = ex.Stats("db")
		assert.Equal(t, Closed, st.State)
		assert.Equal(t, uint64(1), st.ShortCircuited)
		assert.Equal(t, uint64(3), st.Failed)

		mu.Lock()
		defer mu.Unlock()
		var changes []string
		for _, e := range events {
			if e.Kind == EventStateChange {
				changes = append(changes, e.From.String()+">"+e.To.String())
			}
		}
		assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, changes)
	})
}

// An open breaker turns jobs away without sending its actor a message.
// Every message the actor handles publishes a new view, so the view must
// stay the same object through a thousand rejections.
func TestOpenBreakerSendsNoMessage(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1}
		ex := start(t, WithDependency("db", p))
		_, _ = Do(t.Context(), ex, "db", fail)
		synctest.Wait()
		d, _ := ex.lookup("db")
		before := d.breaker.View()
		for range 1000 {
			_, err := Do(t.Context(), ex, "db", ok(1))
			require.ErrorIs(t, err, ErrCircuitOpen)
		}
		synctest.Wait()
		assert.Same(t, before, d.breaker.View(), "no message reached the breaker actor")
	})
}

func TestHalfOpenAdmitsAtMostTheProbeLimit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 8, Queue: 8}
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenProbes: 2}
		ex := start(t, WithDependency("db", p))
		_, _ = Do(t.Context(), ex, "db", fail)
		time.Sleep(time.Second)
		synctest.Wait()

		release := make(chan struct{})
		var running, peak atomic.Int32
		probe := func(context.Context) (any, error) {
			n := running.Add(1)
			for {
				m := peak.Load()
				if n <= m || peak.CompareAndSwap(m, n) {
					break
				}
			}
			<-release
			running.Add(-1)
			return "probe", nil
		}
		var futures []*Future
		for range 6 {
			futures = append(futures, ex.Submit(t.Context(), "db", probe))
		}
		synctest.Wait()
		assert.Equal(t, int32(2), peak.Load())
		var rejected int
		for _, f := range futures {
			if _, err, done := f.Result(); done {
				assert.ErrorIs(t, err, ErrCircuitOpen)
				rejected++
			}
		}
		assert.Equal(t, 4, rejected)
		close(release)
		for _, f := range futures {
			<-f.Done()
		}
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, Closed, st.State)
		assert.Equal(t, int32(2), peak.Load())
	})
}

// Whatever a probe does, its permit comes back exactly once.
func TestProbePermitReturnsWhateverTheProbeDoes(t *testing.T) {
	probes := map[string]func(cancel context.CancelFunc) func(context.Context) (int, error){
		"cancelled": func(cancel context.CancelFunc) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) { cancel(); <-ctx.Done(); return 0, ctx.Err() }
		},
		"timed out": func(context.CancelFunc) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }
		},
		"panicked": func(context.CancelFunc) func(context.Context) (int, error) {
			return func(context.Context) (int, error) { panic("probe") }
		},
		"stuck": func(context.CancelFunc) func(context.Context) (int, error) {
			return func(context.Context) (int, error) { time.Sleep(time.Hour); return 0, nil }
		},
	}
	for name, mk := range probes {
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				p := noRetry(fast())
				p.Timeout = 5 * time.Second
				p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second, MaxHalfOpenWait: 10 * time.Second}
				ex := start(t, WithDependency("db", p))
				_, _ = Do(t.Context(), ex, "db", fail)
				time.Sleep(time.Second)
				synctest.Wait()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				_, err := Do(ctx, ex, "db", mk(cancel))
				require.Error(t, err)
				assert.NotErrorIs(t, err, ErrCircuitOpen, "it was the probe")

				// The permit is back: the breaker either admits the next probe or
				// has re-opened and admits one after the open period.
				deadline := time.Now().Add(time.Minute)
				for time.Now().Before(deadline) {
					_, err = Do(t.Context(), ex, "db", ok(1))
					if err == nil {
						break
					}
					require.ErrorIs(t, err, ErrCircuitOpen)
					time.Sleep(500 * time.Millisecond)
				}
				require.NoError(t, err, "a probe was admitted again")
				synctest.Wait()
				st, _ := ex.Stats("db")
				assert.Equal(t, Closed, st.State)
				time.Sleep(time.Hour) // let a stuck probe return before shutdown
			})
		})
	}
}

func TestRetryPassesTheGateAgain(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Minute}
		ex := start(t, WithDependency("db", p))
		var runs atomic.Int32
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { runs.Add(1); return 0, errBoom })
		var ce *CircuitOpenError
		require.ErrorAs(t, err, &ce, "the first failure tripped the breaker during the backoff")
		assert.Equal(t, int32(1), runs.Load())
	})
}

func TestManualBreakerControl(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1}
		ex := start(t, WithDependency("db", p))
		s, err := ex.Breaker(t.Context(), "db", ForceOpenBreaker)
		require.NoError(t, err)
		assert.Equal(t, ForcedOpen, s)
		_, err = Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrCircuitOpen)

		s, _ = ex.Breaker(t.Context(), "db", DisableBreaker)
		assert.Equal(t, Disabled, s)
		for range 5 {
			_, err = Do(t.Context(), ex, "db", fail)
			assert.ErrorIs(t, err, errBoom)
		}
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, Disabled, st.State)
		assert.Equal(t, 5, st.ConsecutiveFailures)

		s, _ = ex.Breaker(t.Context(), "db", ResetBreaker)
		assert.Equal(t, Closed, s)
		_, err = ex.Breaker(t.Context(), "nope", ResetBreaker)
		assert.ErrorIs(t, err, ErrUnknownDependency)
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
			assert.Contains(t, string(pe.Stack), "breaker_test.go", "the stack shows where the job panicked")
		}
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { panic(nil) })
		assert.ErrorIs(t, err, ErrPanic, "panic(nil) is a panic too")

		// Both workers still serve: two jobs run at once.
		var both sync.WaitGroup
		both.Add(2)
		f1 := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { both.Done(); both.Wait(); return 1, nil })
		f2 := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { both.Done(); both.Wait(); return 2, nil })
		_, err1 := f1.Wait(t.Context())
		_, err2 := f2.Wait(t.Context())
		assert.NoError(t, err1)
		assert.NoError(t, err2)
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(21), st.Panicked)
		assert.Equal(t, uint64(0), st.Restarts, "a job's panic is not an actor crash")
	})
}

func TestGoexitInAJob(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 1, Queue: 2}
		ex := start(t, WithDependency("db", p))
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) {
			runtimeGoexit()
			return 1, nil
		})
		assert.ErrorIs(t, err, ErrPanic)
		// The single worker was replaced and serves again.
		v, err := Do(t.Context(), ex, "db", ok(8))
		require.NoError(t, err)
		assert.Equal(t, 8, v)
	})
}

func TestAdmissionRejectsAtOnceAndNeverBlocks(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 2, Queue: 3}
		ex := start(t, WithDependency("db", p))
		release := make(chan struct{})
		var futures []*Future
		for range 5 {
			futures = append(futures, ex.Submit(t.Context(), "db", func(context.Context) (any, error) { <-release; return 1, nil }))
		}
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, int64(5), st.InFlight)
		assert.Equal(t, 3, st.Queued)
		for range 100 {
			_, err := Do(t.Context(), ex, "db", ok(1))
			require.ErrorIs(t, err, ErrRejected)
		}
		close(release)
		for _, f := range futures {
			_, err := f.Wait(t.Context())
			assert.NoError(t, err)
		}
		st, _ = ex.Stats("db")
		assert.Equal(t, uint64(100), st.Rejected)
		assert.Equal(t, uint64(5), st.Succeeded)
	})
}

func TestBulkheadsHold(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		ex := start(t, WithDependency("slow", p), WithDependency("fast", p))
		hang := make(chan struct{})
		var slow []*Future
		for range 6 {
			slow = append(slow, ex.Submit(t.Context(), "slow", func(context.Context) (any, error) { <-hang; return nil, nil }))
		}
		t0 := time.Now()
		for range 50 {
			_, err := Do(t.Context(), ex, "fast", ok(1))
			require.NoError(t, err)
		}
		assert.Equal(t, t0, time.Now(), "the healthy dependency never waited")
		_, err := Do(t.Context(), ex, "slow", ok(1))
		assert.ErrorIs(t, err, ErrRejected, "the hanging one sheds its own load")
		close(hang)
		for _, f := range slow {
			<-f.Done()
		}
	})
}

func TestStatsAndSnapshot(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("b", noRetry(fast())), WithDependency("a", noRetry(fast())))
		_, _ = Do(t.Context(), ex, "a", ok(1))
		_, _ = Do(t.Context(), ex, "a", fail)
		synctest.Wait() // the breaker actor has the failure
		snap := ex.Snapshot()
		require.Len(t, snap, 2)
		assert.Equal(t, "a", snap[0].Dependency)
		assert.Equal(t, "b", snap[1].Dependency)
		assert.Equal(t, uint64(2), snap[0].Submitted)
		assert.Equal(t, snap[0].Submitted, snap[0].Ended())
		assert.Equal(t, 1, snap[0].ConsecutiveFailures)
		assert.Equal(t, time.Now(), snap[0].LastFailure)
	})
}

// A call made the instant the open period ends is a probe, even while
// the breaker actor has not yet moved itself to HALF_OPEN: here its timer's
// tick crashes it, and its restart waits 10 ms.
func TestCallAtTheEndOfTheOpenPeriodIsAProbe(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := &crasher{site: SiteBreaker}
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second}
		ex := start(t, WithDependency("db", p), WithFaultHook(c.hook))
		_, _ = Do(t.Context(), ex, "db", fail)
		synctest.Wait()
		c.armed.Store(1) // the next breaker message is the tick at the end of the period
		time.Sleep(time.Second)
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.Equal(t, Open, st.State, "the actor is restarting; its view still says open")
		v, err := Do(t.Context(), ex, "db", ok(3))
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, int32(1), c.hits.Load())
	})
}

// Rejections are served from a cache without a clock read, yet RetryAfter
// stays exact to the millisecond and counts down to the end of the period;
// in its last milliseconds every call reads the clock. (No step below ends
// at the instant a cache timer fires: their order would be luck.)
func TestRejectionRetryAfterCountsDown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const open = time.Second + 400*time.Microsecond
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: open}
		ex := start(t, WithDependency("db", p))
		_, _ = Do(t.Context(), ex, "db", fail)
		synctest.Wait()
		retryAfter := func() time.Duration {
			_, err := Do(t.Context(), ex, "db", ok(1))
			var ce *CircuitOpenError
			require.ErrorAs(t, err, &ce)
			return ce.RetryAfter
		}
		assert.Equal(t, open, retryAfter())
		assert.Equal(t, open, retryAfter(), "the same instant: the cached error")
		for _, waited := range []time.Duration{3 * time.Millisecond, 250 * time.Millisecond, 700 * time.Millisecond, 45 * time.Millisecond} {
			before := retryAfter()
			time.Sleep(waited)
			assert.Equal(t, before-waited, retryAfter(), "after %v", waited)
		}
		// 998 ms have passed, 2.4 ms are left: the last entry lived only
		// until 2 ms were left, not to the next millisecond.
		time.Sleep(700 * time.Microsecond)
		assert.Equal(t, 1700*time.Microsecond, retryAfter())
		time.Sleep(1700 * time.Microsecond)
		v, err := Do(t.Context(), ex, "db", ok(1))
		require.NoError(t, err, "the period is over: the call is the probe")
		assert.Equal(t, 1, v)
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(11), st.ShortCircuited)
	})
}
