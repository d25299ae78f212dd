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
		t0 := time.Now()
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { runs.Add(1); return 1, nil })
		var ce *CircuitOpenError
		require.ErrorAs(t, err, &ce)
		assert.ErrorIs(t, err, ErrCircuitOpen)
		assert.Equal(t, "db", ce.Name)
		assert.Equal(t, 3, ce.FailureCount)
		assert.Equal(t, t0.Add(30*time.Second), ce.Until)
		assert.Equal(t, 30*time.Second, ce.RetryAfter())
		assert.Equal(t, t0, ce.LastFailure)
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
		db, err := ex.Dependency("db")
		require.NoError(t, err)
		_, _ = Call(t.Context(), db, fail)
		synctest.Wait()
		before := db.d.breaker.View()
		for i := range 1000 {
			var err error
			if i%2 == 0 {
				_, err = Do(t.Context(), ex, "db", ok(1))
			} else {
				_, err = Call(t.Context(), db, ok(1))
			}
			require.ErrorIs(t, err, ErrCircuitOpen)
		}
		synctest.Wait()
		assert.Same(t, before, db.d.breaker.View(), "no message reached the breaker actor")
		assert.Equal(t, uint64(1000), db.Stats().ShortCircuited)
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
		probe := func(context.Context) (string, error) {
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
		var futures []*Future[string]
		for range 6 {
			futures = append(futures, Submit(t.Context(), ex, "db", probe))
		}
		synctest.Wait()
		assert.Equal(t, int32(2), peak.Load())
		var rejected int
		for _, f := range futures {
			if _, done, err := f.Result(); done {
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
		assert.Equal(t, uint64(4), st.ShortCircuited)
		assert.Equal(t, uint64(2), st.Succeeded)
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
				assert.Equal(t, st.Submitted, st.Ended())
				if name == "stuck" {
					assert.Equal(t, uint64(1), st.Abandoned, "the stuck probe's worker was replaced")
				}
			})
		})
	}
}

// By default the breaker counts each attempt, and a retry that finds it
// open stops at once: the job ran, so it fails with both the open circuit
// and its last error. Counting per job, the breaker admits the job once.
func TestRetryPassesTheGateAgain(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Minute}
		ex := start(t, WithDependency("db", p))
		var runs atomic.Int32
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { runs.Add(1); return 0, errBoom })
		var ce *CircuitOpenError
		require.ErrorAs(t, err, &ce, "the first failure tripped the breaker during the backoff")
		assert.ErrorIs(t, err, errBoom, "the root cause is kept")
		assert.Equal(t, "db", ce.Name)
		assert.Equal(t, int32(1), runs.Load())
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1), st.Failed, "it ran: a failure, not a short circuit")
		assert.Zero(t, st.ShortCircuited)
		assert.Equal(t, uint64(1), st.Retries)
	})
	bubble(t, func(t *testing.T) {
		p := fast()
		p.BreakerCounts = PerJob
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Minute}
		ex := start(t, WithDependency("db", p))
		var runs atomic.Int32
		_, err := Do(t.Context(), ex, "db", func(context.Context) (int, error) { runs.Add(1); return 0, errBoom })
		assert.ErrorIs(t, err, ErrRetriesExhausted)
		assert.ErrorIs(t, err, errBoom)
		assert.NotErrorIs(t, err, ErrCircuitOpen)
		assert.Equal(t, int32(3), runs.Load(), "the job's one permit covers its retries")
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, Open, st.State, "the job's outcome tripped it")
		_, err = Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrCircuitOpen)
	})
}

func TestManualBreakerControl(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1}
		ex := start(t, WithDependency("db", p))
		s, err := ex.ControlBreaker(t.Context(), "db", ForceOpenBreaker)
		require.NoError(t, err)
		assert.Equal(t, ForcedOpen, s)
		_, err = Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrCircuitOpen)

		db, _ := ex.Dependency("db")
		s, err = db.ControlBreaker(t.Context(), DisableBreaker)
		require.NoError(t, err)
		assert.Equal(t, Disabled, s)
		for range 5 {
			_, err = Do(t.Context(), ex, "db", fail)
			assert.ErrorIs(t, err, errBoom)
		}
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, Disabled, st.State)
		assert.Equal(t, 5, st.ConsecutiveFailures)

		s, err = ex.ControlBreaker(t.Context(), "db", ResetBreaker)
		require.NoError(t, err)
		assert.Equal(t, Closed, s)
		_, err = ex.ControlBreaker(t.Context(), "nope", ResetBreaker)
		assert.ErrorIs(t, err, ErrUnknownDependency)
		_, err = ex.ControlBreaker(t.Context(), "db", BreakerControl(42))
		assert.ErrorIs(t, err, ErrInvalidJob)
	})
}

func TestAdmissionRejectsAtOnceAndNeverBlocks(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 2, Queue: 3}
		ex := start(t, WithDependency("db", p))
		release := make(chan struct{})
		var futures []*Future[int]
		for range 5 {
			futures = append(futures, Submit(t.Context(), ex, "db", func(context.Context) (int, error) { <-release; return 1, nil }))
		}
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, int64(5), st.InFlight)
		assert.Equal(t, 3, st.Queued)
		t0 := time.Now()
		for range 100 {
			_, err := Do(t.Context(), ex, "db", ok(1))
			require.ErrorIs(t, err, ErrRejected)
		}
		assert.Equal(t, t0, time.Now(), "no call waited")
		close(release)
		for _, f := range futures {
			_, err := f.Wait(t.Context())
			assert.NoError(t, err)
		}
		st, _ = ex.Stats("db")
		assert.Equal(t, uint64(100), st.Rejected)
		assert.Equal(t, uint64(5), st.Succeeded)
		survived.rejections.Add(int64(st.Rejected))
	})
}

// Workers stuck in functions that ignore their context are bounded: past
// Pool.Workers of them, new calls are rejected at once.
func TestAdmissionRejectsWhileTooManyWorkersAreStuck(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast() // three attempts, 100 ms then 200 ms apart
		p.AttemptTimeout = time.Second
		p.Pool = Pool{Workers: 1, Queue: 1}
		ex := start(t, WithDependency("db", p))
		hung := Submit(t.Context(), ex, "db", func(context.Context) (int, error) { time.Sleep(time.Hour); return 0, nil })
		time.Sleep(2200 * time.Millisecond) // two attempts abandoned; the job waits for its third
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.Equal(t, int64(2), st.AbandonedWorkers)
		require.Equal(t, uint64(2), st.Abandoned)
		assert.Equal(t, int64(1), ex.Gauges().Workers, "the pool kept its size")
		_, err := Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrRejected)
		_, err = hung.Wait(t.Context())
		assert.ErrorIs(t, err, ErrTimeout)
		time.Sleep(time.Hour) // the stuck functions return
		synctest.Wait()
		st, _ = ex.Stats("db")
		assert.Zero(t, st.AbandonedWorkers)
		v, err := Do(t.Context(), ex, "db", ok(2))
		require.NoError(t, err, "admitted again")
		assert.Equal(t, 2, v)
	})
}

func TestBulkheadsHold(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		ex := start(t, WithDependency("slow", p), WithDependency("fast", p))
		hang := make(chan struct{})
		var slow []*Future[int]
		for range 6 {
			slow = append(slow, Submit(t.Context(), ex, "slow", func(context.Context) (int, error) { <-hang; return 0, nil }))
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
		a, _ := ex.Dependency("a")
		assert.Equal(t, snap[0], a.Stats(), "the handle reads the same statistics")
		_, err := ex.Stats("nope")
		assert.ErrorIs(t, err, ErrUnknownDependency)
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
		c.armed.Store(1) // the next breaker transition is the tick at the end of the period
		time.Sleep(time.Second)
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.Equal(t, Open, st.State, "the actor is restarting; its view still says open")
		t0 := time.Now()
		v, err := Do(t.Context(), ex, "db", ok(3))
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, 10*time.Millisecond, time.Since(t0), "the probe waited for the restart")
		assert.Equal(t, int32(1), c.hits.Load())
		synctest.Wait()
		st, _ = ex.Stats("db")
		assert.Equal(t, Closed, st.State)
		assert.Equal(t, uint64(1), st.Restarts)
		survived.crashes.Add(int64(st.Restarts))
	})
}

// Rejections share one error for the whole open period, and its
// RetryAfter counts down to the end of the period, exact to the
// nanosecond; the first call after the period is the probe.
func TestRejectionRetryAfterCountsDown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const open = time.Second + 400*time.Microsecond
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: open}
		ex := start(t, WithDependency("db", p))
		_, _ = Do(t.Context(), ex, "db", fail)
		synctest.Wait()
		until := time.Now().Add(open)
		rejected := 0
		reject := func() *CircuitOpenError {
			_, err := Do(t.Context(), ex, "db", ok(1))
			var ce *CircuitOpenError
			require.ErrorAs(t, err, &ce)
			rejected++
			return ce
		}
		first := reject()
		assert.Equal(t, until, first.Until)
		assert.Equal(t, open, first.RetryAfter())
		// 3 ms, 250 ms, 700 ms, 45 ms, then into the last 5 ms, where each
		// call reads the clock, to 1 ns before the end.
		for _, waited := range []time.Duration{3 * time.Millisecond, 250 * time.Millisecond, 700 * time.Millisecond,
			45 * time.Millisecond, 1700 * time.Microsecond, 700*time.Microsecond - time.Nanosecond} {
			time.Sleep(waited)
			got := reject()
			assert.Same(t, first, got, "after %v: the same open period, the same error", waited)
			assert.Equal(t, time.Until(until), got.RetryAfter(), "after %v", waited)
		}
		assert.Equal(t, time.Nanosecond, first.RetryAfter())
		time.Sleep(time.Nanosecond)
		v, err := Do(t.Context(), ex, "db", ok(1))
		require.NoError(t, err, "the period is over: the call is the probe")
		assert.Equal(t, 1, v)
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(rejected), st.ShortCircuited)
	})
}

// Far from the end of an open period rejections do not read the clock:
// the period's timer says when they must. Should it be late, and the
// breaker actor too, one call in 64 reads the clock anyway, so at most 63
// are turned away past the end.
func TestRejectionWithALateTimer(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex, crashNext := lateBreaker(t)
		_, _ = Do(t.Context(), ex, "db", fail)
		synctest.Wait()
		_, err := Do(t.Context(), ex, "db", ok(1))
		require.ErrorIs(t, err, ErrCircuitOpen)
		c := (*ex.deps.Load())["db"].rejectCache.Load()
		require.NotNil(t, c)
		require.NotNil(t, c.timer, "a one-second period has a timer")
		require.True(t, c.timer.Stop(), "it had not fired") // as if it were late
		crashNext.Store(true)                               // the move to half-open crashes: the view stays OPEN 100 ms longer
		time.Sleep(time.Second + 10*time.Millisecond)
		late := 0
		for {
			_, err := Do(t.Context(), ex, "db", ok(1))
			if err == nil {
				break
			}
			require.ErrorIs(t, err, ErrCircuitOpen)
			late++
			require.Less(t, late, 64)
		}
		assert.Positive(t, late, "the entry without its timer was used")
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1+late), st.ShortCircuited, "the call that read the clock and ran is not counted as one")
	})
}

// OpenBreakerFor opens for the period given, whatever the policy says:
// calls are turned away with the remaining time, then a probe closes it.
func TestOpenBreakerFor(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 5, OpenTimeout: time.Second}
		ex := start(t, WithDependency("db", p))
		s, err := ex.OpenBreakerFor(t.Context(), "db", time.Minute, "maintenance")
		require.NoError(t, err)
		assert.Equal(t, Open, s)
		st, _ := ex.Stats("db")
		assert.Equal(t, time.Now().Add(time.Minute), st.OpenUntil)
		time.Sleep(20 * time.Second)
		_, err = Do(t.Context(), ex, "db", ok(1))
		var coe *CircuitOpenError
		require.ErrorAs(t, err, &coe)
		assert.Equal(t, 40*time.Second, coe.RetryAfter(), "the period given, less the time gone")
		time.Sleep(40 * time.Second)
		v, err := Do(t.Context(), ex, "db", ok(7))
		require.NoError(t, err, "the probe")
		assert.Equal(t, 7, v)
		synctest.Wait()
		st, _ = ex.Stats("db")
		assert.Equal(t, Closed, st.State)
		assert.True(t, st.OpenUntil.IsZero(), "only an open breaker has one")

		_, err = ex.OpenBreakerFor(t.Context(), "db", 0, "")
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = ex.OpenBreakerFor(t.Context(), "nope", time.Second, "")
		assert.ErrorIs(t, err, ErrUnknownDependency)
	})
}

// HalfOpenBreaker moves an open breaker to HALF_OPEN at once, with the
// count of probes at once it is given, not its policy's.
func TestHalfOpenBreaker(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 5, OpenTimeout: time.Second, HalfOpenProbes: 2}
		ex := start(t, WithDependency("db", p))
		_, err := ex.OpenBreakerFor(t.Context(), "db", time.Hour, "fleet")
		require.NoError(t, err)
		s, err := ex.HalfOpenBreaker(t.Context(), "db", 1, "fleet grants a probe")
		require.NoError(t, err)
		assert.Equal(t, HalfOpen, s)

		release := make(chan struct{})
		db, err := ex.Dependency("db")
		require.NoError(t, err)
		first := Go(t.Context(), db, func(context.Context) (int, error) {
			<-release
			return 1, nil
		})
		synctest.Wait()
		_, err = Do(t.Context(), ex, "db", ok(2))
		assert.ErrorIs(t, err, ErrCircuitOpen, "one probe at once, not the policy's two")
		close(release)
		v, err := first.Wait(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		synctest.Wait()
		_, err = Do(t.Context(), ex, "db", ok(3))
		require.NoError(t, err, "the second probe, once the first has reported")
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, Closed, st.State, "two successes close it, as the policy says")

		_, err = ex.HalfOpenBreaker(t.Context(), "db", 0, "")
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = ex.HalfOpenBreaker(t.Context(), "nope", 1, "")
		assert.ErrorIs(t, err, ErrUnknownDependency)
	})
}
