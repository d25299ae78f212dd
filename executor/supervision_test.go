package executor

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/supervisor"
)

// crasher injects crashes at one site while armed.
type crasher struct {
	site  Site
	armed atomic.Int32 // crashes left to inject
	hits  atomic.Int32
}

func (c *crasher) hook(site Site, _ string) {
	if site == c.site && c.armed.Add(-1) >= 0 {
		c.hits.Add(1)
		panic(fmt.Sprintf("injected %s crash", site))
	}
}

func TestCrashedActorsAreRestartedAndBreakerStateSurvives(t *testing.T) {
	for _, site := range []Site{SiteBreaker, SiteRetrier, SiteWorker} {
		t.Run(site.String(), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				c := &crasher{site: site}
				p := fast()
				p.Breaker = breaker.Policy{FailureThreshold: 2, OpenTimeout: time.Minute}
				p.Restart = supervisor.Policy{MaxRestarts: 5, Window: time.Minute}
				ex := start(t, WithDependency("db", p), WithFaultHook(c.hook))

				// Trip the breaker: two failures, retries included.
				_, err := Do(t.Context(), ex, "db", fail)
				require.ErrorIs(t, err, ErrCircuitOpen)
				require.ErrorIs(t, err, errBoom)
				synctest.Wait()
				st, _ := ex.Stats("db")
				require.Equal(t, Open, st.State)
				tripped := st.LastFailure

				c.armed.Store(3)
				switch site {
				case SiteBreaker:
					// Three transitions, each crashing the actor; each
					// control is re-delivered to the restarted actor,
					// which answers it.
					for _, op := range []BreakerControl{DisableBreaker, ForceOpenBreaker, DisableBreaker} {
						_, err := ex.ControlBreaker(t.Context(), "db", op)
						require.NoError(t, err)
					}
				case SiteRetrier, SiteWorker:
					// One job whose attempts and retries meet the crashes.
					_, err := ex.ControlBreaker(t.Context(), "db", DisableBreaker)
					require.NoError(t, err)
					var runs atomic.Int32
					_, err = Do(t.Context(), ex, "db", func(context.Context) (int, error) { runs.Add(1); return 0, errBoom })
					assert.ErrorIs(t, err, ErrRetriesExhausted, "the job survived the crashes")
					assert.Equal(t, int32(3), runs.Load(), "no attempt lost or repeated")
				}
				synctest.Wait()
				time.Sleep(time.Second) // restart delays
				synctest.Wait()
				st, _ = ex.Stats("db")
				assert.Equal(t, int32(3), c.hits.Load())
				assert.Equal(t, uint64(3), st.Restarts)
				survived.crashes.Add(int64(st.Restarts))
				assert.False(t, st.Down)
				assert.Equal(t, Disabled, st.State, "the state survived the restarts")
				if site == SiteBreaker {
					assert.Equal(t, tripped, st.LastFailure)
				}
				assert.Equal(t, int64(3), ex.Gauges().Actors, "supervisor, breaker and retrier")
				assert.Equal(t, int64(p.Pool.Workers), ex.Gauges().Workers)

				// Everything still works after the restarts.
				_, err = ex.ControlBreaker(t.Context(), "db", ResetBreaker)
				require.NoError(t, err)
				v, err := Do(t.Context(), ex, "db", ok(4))
				require.NoError(t, err)
				assert.Equal(t, 4, v)
			})
		})
	}
}

// A crash of the breaker actor as it opens never closes the circuit: its
// restart keeps the state, and calls are turned away again once it has
// handled the crashing message a second time.
func TestBreakerCrashNeverClosesAnOpenCircuit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		var db *Dependency
		var armed, hits atomic.Int32
		hook := func(s Site, _ string) {
			// The view is published after the transition's hook: it still
			// shows the state being left. Crash when leaving for OPEN.
			if s == SiteBreaker && db.d.breaker.View().State != Open && armed.Add(-1) >= 0 {
				hits.Add(1)
				panic("injected crash on opening")
			}
		}
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second}
		ex := start(t, WithDependency("db", p), WithFaultHook(hook))
		db, _ = ex.Dependency("db")
		armed.Store(2)

		// Crash 1: at the trip.
		_, _ = Call(t.Context(), db, fail)
		synctest.Wait()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, Open, db.Stats().State)
		_, err := Call(t.Context(), db, ok(1))
		assert.ErrorIs(t, err, ErrCircuitOpen)

		// Crash 2: at the re-trip by a failed probe.
		time.Sleep(time.Second)
		_, err = Call(t.Context(), db, fail)
		require.ErrorIs(t, err, errBoom, "the probe ran")
		synctest.Wait()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		st := db.Stats()
		assert.Equal(t, int32(2), hits.Load())
		assert.Equal(t, uint64(2), st.Restarts)
		survived.crashes.Add(int64(st.Restarts))
		assert.Equal(t, Open, st.State)
		_, err = Call(t.Context(), db, ok(1))
		assert.ErrorIs(t, err, ErrCircuitOpen)
	})
}

func TestEscalationMarksTheDependencyDown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := &crasher{site: SiteRetrier}
		var events []Event
		var mu sync.Mutex
		var logs bytes.Buffer
		p := fast()
		p.Retry.InitialDelay = time.Hour
		p.Timeout = 2 * time.Hour
		p.Restart = supervisor.Policy{MaxRestarts: 2, Window: time.Minute}
		ex, err := New(WithDependency("db", p), WithDependency("other", fast()), WithFaultHook(c.hook),
			WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
			WithEvents(func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }, 0))
		require.NoError(t, err)
		t.Cleanup(func() { _ = ex.Shutdown(context.Background()) })

		// A job waiting for its retry when the dependency goes down.
		pendingRetry := Submit(t.Context(), ex, "db", fail)
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.Equal(t, 1, st.PendingRetries)
		c.armed.Store(100) // the retry's coming due crashes the retrier, again and again
		time.Sleep(time.Hour + time.Minute)
		synctest.Wait()

		_, err = pendingRetry.Wait(t.Context())
		assert.ErrorIs(t, err, ErrDependencyDown)
		assert.Equal(t, int32(3), c.hits.Load())
		st, _ = ex.Stats("db")
		assert.True(t, st.Down)
		assert.Equal(t, uint64(2), st.Restarts)
		survived.crashes.Add(int64(st.Restarts))
		survived.escalations.Add(1)
		_, err = Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrDependencyDown, "later submits fail fast")
		_, err = Do(t.Context(), ex, "other", ok(1))
		assert.NoError(t, err, "other dependencies are untouched")

		mu.Lock()
		var kinds []string
		for _, e := range events {
			if e.Dependency == "db" && (e.Kind == EventRestart || e.Kind == EventEscalation) {
				kinds = append(kinds, e.Kind.String())
			}
		}
		mu.Unlock()
		assert.Equal(t, []string{"restart", "restart", "escalation"}, kinds)
		assert.Contains(t, logs.String(), "level=ERROR msg=\"warden: dependency down, restart limit passed\" dependency=db")

		// Registering the name again brings it back.
		c.armed.Store(0)
		require.NoError(t, ex.Register("db", fast()))
		v, err := Do(t.Context(), ex, "db", ok(6))
		require.NoError(t, err)
		assert.Equal(t, 6, v)
		st, _ = ex.Stats("db")
		assert.False(t, st.Down)

		require.NoError(t, ex.Shutdown(context.Background()))
		assert.Equal(t, Gauges{}, ex.Gauges(), "gauges after shutdown")
	})
}

func TestShutdownAnswersEveryJob(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Pool = Pool{Workers: 1, Queue: 4}
		ex, err := New(WithDependency("db", p))
		require.NoError(t, err)

		release := make(chan struct{})
		running := Submit(t.Context(), ex, "db", func(context.Context) (string, error) { <-release; return "finished", nil })
		queued := Submit(t.Context(), ex, "db", func(context.Context) (string, error) { return "never", nil })
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.Equal(t, 1, st.Queued)

		done := make(chan error)
		go func() { done <- ex.Shutdown(context.Background()) }()
		synctest.Wait()
		_, err = queued.Wait(t.Context())
		assert.ErrorIs(t, err, ErrShutdown, "queued jobs are answered at once")
		_, err = Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrShutdown, "no admission during shutdown")
		select {
		case <-done:
			t.Fatal("shutdown did not wait for the running job")
		default:
		}
		close(release)
		require.NoError(t, <-done)
		v, err := running.Wait(t.Context())
		assert.NoError(t, err)
		assert.Equal(t, "finished", v, "a running job within the grace keeps its result")
		assert.Equal(t, Gauges{}, ex.Gauges())
		st, _ = ex.Stats("db")
		assert.Equal(t, st.Submitted, st.Ended())
	})
}

func TestShutdownAnswersJobsWaitingForARetry(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Retry.InitialDelay = time.Hour
		p.Timeout = 2 * time.Hour
		ex, err := New(WithDependency("db", p))
		require.NoError(t, err)
		retrying := Submit(t.Context(), ex, "db", fail)
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.Equal(t, 1, st.PendingRetries)

		t0 := time.Now()
		done := make(chan error)
		go func() { done <- ex.Shutdown(context.Background()) }()
		_, err = retrying.Wait(t.Context())
		assert.ErrorIs(t, err, ErrShutdown, "jobs waiting for a retry are answered")
		assert.Equal(t, t0, time.Now(), "at once")
		require.NoError(t, <-done)
		st, _ = ex.Stats("db")
		assert.Equal(t, st.Submitted, st.Ended())
		assert.Equal(t, Gauges{}, ex.Gauges())
	})
}

func TestShutdownGraceRunsOut(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex, err := New(WithDependency("db", fast()))
		require.NoError(t, err)
		var cancelled atomic.Bool
		stuck := Submit(t.Context(), ex, "db", func(ctx context.Context) (int, error) {
			time.Sleep(time.Minute) // ignores its context
			cancelled.Store(ctx.Err() != nil)
			return 1, nil
		})
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		assert.ErrorIs(t, ex.Shutdown(ctx), context.DeadlineExceeded)
		_, err = stuck.Wait(t.Context())
		assert.ErrorIs(t, err, ErrShutdown, "answered when the grace ran out")
		time.Sleep(time.Minute) // the job returns; its worker lets go
		assert.True(t, cancelled.Load(), "its context was cancelled")
		assert.NoError(t, ex.Shutdown(t.Context()), "a later call sees the first one finish")
		synctest.Wait()
		assert.Equal(t, Gauges{}, ex.Gauges())
	})
}

func TestConcurrentShutdownAndSubmit(t *testing.T) {
	contexts := map[string]func(t *testing.T) context.Context{
		"context without a done channel": func(*testing.T) context.Context { return context.Background() },
		"cancellable context":            func(t *testing.T) context.Context { return t.Context() },
	}
	for name, ctx := range contexts {
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ex, err := New(WithDependency("db", fast()))
				require.NoError(t, err)
				var wg sync.WaitGroup
				var answered atomic.Int32
				for range 4 {
					wg.Go(func() {
						for range 50 {
							f := Submit(ctx(t), ex, "db", ok(1))
							<-f.Done()
							answered.Add(1)
						}
					})
				}
				for range 3 {
					wg.Go(func() { assert.NoError(t, ex.Shutdown(context.Background())) })
				}
				wg.Wait()
				assert.Equal(t, int32(200), answered.Load())
				st := ex.Snapshot()[0]
				assert.Equal(t, st.Submitted, st.Ended())
				assert.Equal(t, Gauges{}, ex.Gauges())
				survived.shutdowns.Add(1)
			})
		})
	}
}

func TestLoggingRecords(t *testing.T) {
	bubble(t, func(t *testing.T) {
		var logs bytes.Buffer
		p := fast()
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second}
		ex := start(t, WithDependency("db", p),
			WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		_, _ = Do(t.Context(), ex, "db", fail)
		time.Sleep(time.Second)
		_, _ = Do(t.Context(), ex, "db", ok(1))
		synctest.Wait()
		out := logs.String()
		assert.Contains(t, out, `level=DEBUG msg="warden: retry scheduled" dependency=db operation=db attempt=1 delay=100ms err=boom`)
		assert.Contains(t, out, `level=WARN msg="warden: circuit opened" dependency=db from=closed to=open`)
		assert.Contains(t, out, `level=INFO msg="warden: circuit closed" dependency=db from=half-open to=closed`)
		assert.NotContains(t, out, "component=protoactor level=INFO", "protoactor's chatter stays out")
		assert.Equal(t, 1, strings.Count(out, "circuit opened"))
	})
}
