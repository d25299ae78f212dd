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

// crasher injects actor crashes at one site while armed.
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
				require.Error(t, err)
				synctest.Wait()
				st, _ := ex.Stats("db")
				require.Equal(t, Open, st.State)

				c.armed.Store(3)
				// Drive messages to each actor while crashes are armed.
				switch site {
				case SiteBreaker:
					_, _ = ex.Breaker(t.Context(), "db", DisableBreaker)
				case SiteRetrier, SiteWorker:
					_, _ = ex.Breaker(t.Context(), "db", DisableBreaker)
					_, _ = Do(t.Context(), ex, "db", fail)
				}
				synctest.Wait()
				time.Sleep(time.Second) // restart delays
				synctest.Wait()
				st, _ = ex.Stats("db")
				assert.Equal(t, int32(3), c.hits.Load())
				assert.Equal(t, uint64(3), st.Restarts)
				assert.False(t, st.Down)
				if site == SiteBreaker {
					assert.Equal(t, Disabled, st.State, "the control message was re-delivered after the restarts")
				}

				// Everything still works after the restarts.
				_, _ = ex.Breaker(t.Context(), "db", ResetBreaker)
				v, err := Do(t.Context(), ex, "db", ok(4))
				require.NoError(t, err)
				assert.Equal(t, 4, v)
			})
		})
	}
}

func TestBreakerCrashNeverClosesAnOpenCircuit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		c := &crasher{site: SiteBreaker}
		p := noRetry(fast())
		p.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Hour}
		ex := start(t, WithDependency("db", p), WithFaultHook(c.hook))
		_, _ = Do(t.Context(), ex, "db", fail)
		synctest.Wait()
		c.armed.Store(2)
		d, _ := ex.lookup("db")
		d.root.Send(d.pids.breaker, "unexpected message") // crashes, twice
		time.Sleep(time.Second)
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(2), st.Restarts)
		assert.Equal(t, Open, st.State)
		_, err := Do(t.Context(), ex, "db", ok(1))
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
		ex := start(t, WithDependency("db", p), WithDependency("other", fast()), WithFaultHook(c.hook),
			WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
			WithEvents(func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }, 0))

		// A job waiting for its retry when the dependency goes down.
		pendingRetry := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { return nil, errBoom })
		synctest.Wait()
		c.armed.Store(100) // every retrier message crashes from now on
		d, _ := ex.lookup("db")
		for range 3 {
			d.root.Send(d.pids.retrier, "poke") // each crashes the retrier
		}
		time.Sleep(time.Minute)
		synctest.Wait()

		_, err := pendingRetry.Wait(t.Context())
		assert.ErrorIs(t, err, ErrDependencyDown)
		st, _ := ex.Stats("db")
		assert.True(t, st.Down)
		assert.Equal(t, uint64(2), st.Restarts)
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
	})
}

func TestShutdownAnswersEveryJob(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Pool = Pool{Workers: 1, Queue: 4}
		p.Retry.InitialDelay = time.Hour
		p.Timeout = 2 * time.Hour
		ex, err := New(WithDependency("db", p))
		require.NoError(t, err)

		release := make(chan struct{})
		running := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { <-release; return "finished", nil })
		queued := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { return "never", nil })
		synctest.Wait()
		retrying := ex.Submit(t.Context(), "other-not-registered", nil)
		_, err = retrying.Wait(t.Context())
		assert.ErrorIs(t, err, ErrInvalidJob)

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
	})
}

func TestShutdownGraceRunsOut(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex, err := New(WithDependency("db", fast()))
		require.NoError(t, err)
		stuck := ex.Submit(t.Context(), "db", func(context.Context) (any, error) {
			time.Sleep(time.Minute) // ignores its context
			return nil, nil
		})
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		assert.ErrorIs(t, ex.Shutdown(ctx), context.DeadlineExceeded)
		_, err = stuck.Wait(t.Context())
		assert.ErrorIs(t, err, ErrShutdown, "answered when the grace ran out")
		time.Sleep(time.Minute) // the job returns; its worker lets go
		assert.NoError(t, ex.Shutdown(t.Context()), "a later call sees the first one finish")
		synctest.Wait()
	})
}

func TestConcurrentShutdownAndSubmit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex, err := New(WithDependency("db", fast()))
		require.NoError(t, err)
		var wg sync.WaitGroup
		var answered atomic.Int32
		for range 4 {
			wg.Go(func() {
				for range 50 {
					f := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { return 1, nil })
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
	})
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
		assert.Contains(t, out, `level=DEBUG msg="warden: retry scheduled" dependency=db attempt=1 delay=100ms err=boom`)
		assert.Contains(t, out, `level=WARN msg="warden: circuit opened" dependency=db from=closed to=open`)
		assert.Contains(t, out, `level=INFO msg="warden: circuit closed" dependency=db from=half-open to=closed`)
		assert.NotContains(t, out, "component=protoactor level=INFO", "protoactor's chatter stays out")
		assert.Equal(t, 1, strings.Count(out, "circuit opened"))
	})
}
