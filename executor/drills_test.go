package executor

import (
	"context"
	"fmt"
	"runtime"
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

// Counts for the summary line, filled by the drills.
var (
	drillCrashes     atomic.Int64
	drillEscalations atomic.Int64
	drillRejections  atomic.Int64
	drillShutdowns   atomic.Int64
)

// plannedCrashes panics in an actor's message handling, at the given site,
// on every step-th message until it has crashed n times.
type plannedCrashes struct {
	site       Site
	dependency string
	step, n    int64
	seen, hits atomic.Int64
	disarmed   atomic.Bool
}

func (p *plannedCrashes) hook(site Site, dep string) {
	if site != p.site || dep != p.dependency || p.disarmed.Load() {
		return
	}
	if p.seen.Add(1)%p.step != 0 {
		return
	}
	for h := p.hits.Load(); h < p.n; h = p.hits.Load() {
		if p.hits.CompareAndSwap(h, h+1) {
			panic(fmt.Sprintf("drill: %s crash %d", site, h+1))
		}
	}
}

// Drill (a): 50 crashes of the actors themselves, under a restart limit
// that is not passed: every crash is restarted, the breaker keeps its
// state and every job ends exactly once.
func TestDrillActorCrashes(t *testing.T) {
	bubble(t, func(t *testing.T) {
		workerCrashes := &plannedCrashes{site: SiteWorker, dependency: "busy", step: 7, n: 25}
		breakerCrashes := &plannedCrashes{site: SiteBreaker, dependency: "tripped", step: 1, n: 25}
		hook := func(s Site, d string) { workerCrashes.hook(s, d); breakerCrashes.hook(s, d) }
		restart := supervisor.Policy{MaxRestarts: 100, Window: time.Minute, InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}
		busy := fast()
		busy.Pool.Queue = 512 // room for every caller: nothing is rejected
		busy.Restart = restart
		tripped := noRetry(fast())
		tripped.Restart = restart
		tripped.Breaker = breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Hour}
		ex := start(t, WithDependency("busy", busy), WithDependency("tripped", tripped), WithFaultHook(hook))

		// Trip "tripped" before its breaker's crashes are armed.
		breakerCrashes.disarmed.Store(true)
		_, _ = Do(t.Context(), ex, "tripped", fail)
		synctest.Wait()
		before, _ := ex.Stats("tripped")
		require.Equal(t, Open, before.State)
		breakerCrashes.disarmed.Store(false)

		var wg sync.WaitGroup
		var answered atomic.Int64
		for i := range 400 {
			wg.Go(func() {
				f := ex.Submit(t.Context(), "busy", func(context.Context) (any, error) { return i, nil })
				if _, err := f.Wait(t.Context()); err != nil {
					t.Errorf("job %d: %v", i, err)
				}
				answered.Add(1)
			})
			if i%10 == 0 {
				d, _ := ex.lookup("tripped")
				d.root.Send(d.pids.breaker, "drill") // each crashes the breaker actor
			}
			time.Sleep(time.Millisecond)
		}
		wg.Wait()
		time.Sleep(5 * time.Second) // the last restarts and re-delivered messages
		synctest.Wait()
		assert.Equal(t, int64(400), answered.Load(), "no job lost")
		b, _ := ex.Stats("busy")
		tr, _ := ex.Stats("tripped")
		assert.Equal(t, int64(25), workerCrashes.hits.Load())
		assert.Equal(t, int64(25), breakerCrashes.hits.Load())
		assert.Equal(t, uint64(25), b.Restarts)
		assert.Equal(t, uint64(25), tr.Restarts)
		assert.False(t, b.Down)
		assert.False(t, tr.Down)
		assert.Equal(t, uint64(400), b.Succeeded)
		assert.Equal(t, Open, tr.State, "the breaker kept its state through 25 crashes")
		assert.Equal(t, before.LastFailure, tr.LastFailure)
		drillCrashes.Add(int64(b.Restarts + tr.Restarts))
	})
}

// Drill (b): a burst of crashes past the limit marks the dependency down
// and fails its jobs with ErrDependencyDown.
func TestDrillEscalation(t *testing.T) {
	bubble(t, func(t *testing.T) {
		crashes := &plannedCrashes{site: SiteWorker, dependency: "db", step: 1, n: 1000}
		p := fast()
		p.Pool = Pool{Workers: 2, Queue: 64}
		p.Restart = supervisor.Policy{MaxRestarts: 3, Window: time.Minute, InitialBackoff: time.Millisecond}
		ex := start(t, WithDependency("db", p), WithFaultHook(crashes.hook))
		var futures []*Future
		for range 20 {
			futures = append(futures, ex.Submit(t.Context(), "db", func(context.Context) (any, error) { return 1, nil }))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		st, _ := ex.Stats("db")
		require.True(t, st.Down)
		for i, f := range futures {
			_, err := f.Wait(t.Context())
			assert.ErrorIs(t, err, ErrDependencyDown, "job %d", i)
		}
		_, err := Do(t.Context(), ex, "db", ok(1))
		assert.ErrorIs(t, err, ErrDependencyDown)
		assert.Equal(t, uint64(3), st.Restarts)
		drillEscalations.Add(1)
		drillCrashes.Add(int64(st.Restarts) + 1)
	})
}

// Drill (c): 100,000 submits from 64 goroutines to one dependency. The
// excess is rejected at once, Submit never blocks (no fake time passes in
// a Submit call), and memory returns to its baseline after GC.
func TestDrillOverloadBurst(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 8, Queue: 128}
		ex := start(t, WithDependency("db", p))
		base := heapAlloc()
		var wg sync.WaitGroup
		var rejected, blocked atomic.Int64
		futures := make([][]*Future, 64)
		for g := range 64 {
			wg.Go(func() {
				for range 100_000 / 64 {
					t0 := time.Now()
					f := ex.Submit(t.Context(), "db", func(context.Context) (any, error) {
						time.Sleep(time.Millisecond)
						return 1, nil
					})
					if time.Since(t0) != 0 {
						blocked.Add(1)
					}
					if _, err, done := f.Result(); done && err != nil {
						require.ErrorIs(t, err, ErrRejected)
						rejected.Add(1)
						continue
					}
					futures[g] = append(futures[g], f)
				}
			})
		}
		wg.Wait()
		assert.Zero(t, blocked.Load(), "a Submit call waited")
		for _, fs := range futures {
			for _, f := range fs {
				_, err := f.Wait(t.Context())
				require.NoError(t, err)
			}
		}
		synctest.Wait()
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(rejected.Load()), st.Rejected)
		assert.Equal(t, st.Submitted, st.Ended())
		assert.Greater(t, rejected.Load(), int64(90_000), "most of the burst was shed")
		futures = nil
		after := heapAlloc()
		assert.Less(t, after, base+4<<20, "heap back to its baseline (%d -> %d bytes)", base, after)
		drillRejections.Add(rejected.Load())
	})
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Drill (d): 20 shutdowns under load; each answers every job and leaves
// nothing running (goleak checks the goroutines after the package's tests).
func TestDrillShutdownsUnderLoad(t *testing.T) {
	for round := range 20 {
		bubble(t, func(t *testing.T) {
			p := fast()
			p.Pool = Pool{Workers: 4, Queue: 32}
			ex, err := New(WithDependency("a", p), WithDependency("b", noRetry(p)))
			require.NoError(t, err)
			var wg sync.WaitGroup
			var answered, submitted atomic.Int64
			stopLoad := make(chan struct{})
			for g := range 8 {
				wg.Go(func() {
					for k := 0; ; k++ {
						select {
						case <-stopLoad:
							return
						default:
						}
						dep := []string{"a", "b"}[(g+k)%2]
						submitted.Add(1)
						f := ex.Submit(t.Context(), dep, func(ctx context.Context) (any, error) {
							if k%5 == 0 {
								return nil, errBoom
							}
							time.Sleep(time.Duration(k%7) * time.Millisecond)
							return 1, nil
						})
						<-f.Done()
						answered.Add(1)
						time.Sleep(time.Millisecond)
					}
				})
			}
			time.Sleep(time.Duration(20+round) * time.Millisecond)
			require.NoError(t, ex.Shutdown(context.Background()))
			close(stopLoad)
			wg.Wait()
			assert.Equal(t, submitted.Load(), answered.Load(), "round %d", round)
			assert.Equal(t, Gauges{}, ex.Gauges())
			for _, st := range ex.Snapshot() {
				assert.Equal(t, st.Submitted, st.Ended(), "round %d %s", round, st.Dependency)
			}
		})
		drillShutdowns.Add(1)
	}
}
