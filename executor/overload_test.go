package executor

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// 100,000 calls from 64 goroutines to one dependency: the excess is
// rejected at once, Go never blocks (no fake time passes in a call), every
// accepted job succeeds, the counters add up and memory returns to its
// baseline.
func TestOverloadBurstIsShedAtOnce(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 8, Queue: 128}
		ex := start(t, WithDependency("db", p))
		db, _ := ex.Dependency("db")
		base := heapAlloc()
		var wg sync.WaitGroup
		var rejected, blocked atomic.Int64
		futures := make([][]*Future[int], 64)
		for g := range 64 {
			wg.Go(func() {
				for range 100_000 / 64 {
					t0 := time.Now()
					f := Go(context.Background(), db, func(context.Context) (int, error) {
						time.Sleep(time.Millisecond)
						return 1, nil
					})
					if time.Since(t0) != 0 {
						blocked.Add(1)
					}
					if _, done, err := f.Result(); done && err != nil {
						require.ErrorIs(t, err, ErrRejected)
						rejected.Add(1)
						continue
					}
					futures[g] = append(futures[g], f)
				}
			})
		}
		wg.Wait()
		assert.Zero(t, blocked.Load(), "a call waited")
		for _, fs := range futures {
			for _, f := range fs {
				v, err := f.Wait(context.Background())
				require.NoError(t, err)
				require.Equal(t, 1, v)
			}
		}
		synctest.Wait()
		st := db.Stats()
		assert.Equal(t, uint64(rejected.Load()), st.Rejected)
		assert.Equal(t, st.Submitted, st.Ended())
		assert.Equal(t, uint64(100_000/64*64), st.Submitted)
		assert.Greater(t, rejected.Load(), int64(90_000), "most of the burst was shed")
		futures = nil
		after := heapAlloc()
		assert.Less(t, after, base+4<<20, "heap back to its baseline (%d -> %d bytes)", base, after)
		survived.rejections.Add(rejected.Load())
	})
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// 20 shutdowns under load: each answers every job, the counters add up
// and nothing is left running (goleak checks after the package's tests).
func TestShutdownsUnderLoad(t *testing.T) {
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
						f := Submit(context.Background(), ex, dep, func(ctx context.Context) (int, error) {
							if k%5 == 0 {
								return 0, errBoom
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
		survived.shutdowns.Add(1)
	}
}
