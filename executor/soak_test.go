package executor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSoak runs the chaos mix in real time at a higher rate for
// WARDEN_SOAK (say 10m; `make soak`), sampling heap, goroutines and gauges
// every 10 s, and fails if they grow. It is skipped unless WARDEN_SOAK is
// set.
func TestSoak(t *testing.T) {
	spec := os.Getenv("WARDEN_SOAK")
	if spec == "" {
		t.Skip("set WARDEN_SOAK=10m (make soak) to run")
	}
	duration, err := time.ParseDuration(spec)
	require.NoError(t, err)
	const deps, rate = 4, 5000
	names := make([]string, deps)
	var opts []Option
	for i := range names {
		names[i] = fmt.Sprint("dep-", i)
		opts = append(opts, WithDependency(names[i], chaosPolicy()))
	}
	ex, err := New(opts...)
	require.NoError(t, err)

	type sample struct {
		heap       uint64
		goroutines int
		gauges     Gauges
	}
	take := func() sample {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return sample{m.HeapAlloc, runtime.NumGoroutine(), ex.Gauges()}
	}
	var samples []sample
	var answered, submitted atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(duration)
	next := time.Now().Add(10 * time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	tick := time.NewTicker(time.Second / 100) // 100 batches of rate/100 jobs a second
	defer tick.Stop()
	for time.Now().Before(stop) {
		<-tick.C
		for range rate / 100 {
			dep := names[rng.IntN(deps)]
			roll := rng.IntN(100)
			submitted.Add(1)
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond+time.Duration(roll)*3*time.Millisecond)
				defer cancel()
				_, _ = Do(ctx, ex, dep, func(ctx context.Context) (int, error) {
					switch {
					case roll < 10:
						return 0, errTransientChaos
					case roll < 15:
						select {
						case <-time.After(80 * time.Millisecond):
						case <-ctx.Done():
							return 0, ctx.Err()
						}
					case roll < 18:
						time.Sleep(200 * time.Millisecond)
					case roll < 20:
						panic("soak")
					}
					return 1, nil
				})
				answered.Add(1)
			})
		}
		if time.Now().After(next) {
			s := take()
			samples = append(samples, s)
			t.Logf("t=%s heap=%.1fMB goroutines=%d gauges=%+v answered=%d", time.Until(stop).Round(time.Second), float64(s.heap)/(1<<20), s.goroutines, s.gauges, answered.Load())
			next = next.Add(10 * time.Second)
		}
	}
	wg.Wait()
	require.NoError(t, ex.Shutdown(context.Background()))
	require.Equal(t, submitted.Load(), answered.Load())
	for _, st := range ex.Snapshot() {
		require.Equal(t, st.Submitted, st.Ended(), st.Dependency)
	}
	require.Equal(t, Gauges{}, ex.Gauges())
	if len(samples) >= 4 {
		// Compare the second half of the run with the first, past warm-up.
		early, late := samples[1], samples[len(samples)-1]
		require.LessOrEqual(t, late.heap, early.heap*3/2+16<<20, "heap grew: %d -> %d", early.heap, late.heap)
		require.LessOrEqual(t, late.goroutines, early.goroutines*3/2+200, "goroutines grew")
		require.LessOrEqual(t, late.gauges.Timers, early.gauges.Timers*3/2+1000, "pending timers grew")
	}
}
