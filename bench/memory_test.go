package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

// settledHeap waits for what an earlier benchmark let go to be freed: a
// stopped timer stays in its processor's timer heap, holding what its
// function refers to, until that processor next schedules goroutines and
// cleans the heap. It keeps every processor scheduling, and returns the
// heap once two reads 10 ms apart no longer fall by more than 1%.
func settledHeap() uint64 {
	h := heap()
	for range 100 {
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for range 10 {
					time.Sleep(time.Millisecond)
					runtime.Gosched()
				}
			})
		}
		wg.Wait()
		next := heap()
		if next+next/100 >= h {
			return next
		}
		h = next
	}
	return h
}

// heap is the memory held after a collection: the live heap and the
// goroutines' stacks.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// pendRetries submits n jobs whose first attempt fails and whose retry
// waits an hour, and returns once all n wait on their retry timers.
func pendRetries(tb testing.TB, n int) (*executor.Executor, []*executor.Future[string]) {
	ex, err := executor.New(executor.WithDependency("db", executor.Policy{
		Timeout: 2 * time.Hour,
		Retry:   retrier.Policy{MaxAttempts: 2, InitialDelay: time.Hour, Jitter: retrier.NoJitter},
		Breaker: breaker.Policy{FailureThreshold: 1 << 30}, // every job fails once; none may trip it
		Pool:    executor.Pool{Workers: 4, Queue: n},
	}))
	if err != nil {
		tb.Fatal(err)
	}
	futures := make([]*executor.Future[string], 0, n)
	for range n {
		futures = append(futures, executor.Submit(context.Background(), ex, "db", func(context.Context) (string, error) { return "", errTransient }))
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		st, _ := ex.Stats("db")
		if st.PendingRetries == n {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d retries pending", st.PendingRetries, n)
		}
	}
	return ex, futures
}

func drainShutdown(tb testing.TB, ex *executor.Executor, futures []*executor.Future[string]) {
	if err := ex.Shutdown(context.Background()); err != nil {
		tb.Fatal(err)
	}
	for _, f := range futures {
		if _, err := f.Wait(context.Background()); err == nil {
			tb.Fatal("a pending retry succeeded at shutdown")
		}
	}
}

// grown returns how much the heap grew from before to after, and fails if
// it shrank, which would mean memory of something else was freed meanwhile.
func grown(b *testing.B, before, after uint64) float64 {
	if after < before {
		b.Fatalf("the heap shrank from %d to %d bytes while measuring", before, after)
	}
	return float64(after - before)
}

// BenchmarkMemoryPendingRetries reports the heap and goroutines held per
// pending retry, with 100,000 pending. Every executor of the run stays up
// until all are measured: one shut down while another is measured would
// free memory in the middle of its measurement.
func BenchmarkMemoryPendingRetries(b *testing.B) {
	const n = 100_000
	var bytes, goroutines float64
	type held struct {
		ex      *executor.Executor
		futures []*executor.Future[string]
	}
	var all []held
	for range b.N {
		before, g0 := settledHeap(), runtime.NumGoroutine()
		ex, futures := pendRetries(b, n)
		after, g1 := heap(), runtime.NumGoroutine()
		bytes += grown(b, before, after)
		goroutines += float64(g1 - g0)
		all = append(all, held{ex, futures})
	}
	b.StopTimer()
	for _, h := range all {
		drainShutdown(b, h.ex, h.futures)
	}
	runs := float64(b.N)
	b.ReportMetric(bytes/runs/n, "B/pending-retry")
	b.ReportMetric(goroutines/runs/n, "goroutines/pending-retry")
	b.ReportMetric(bytes/runs/(1<<20), "MB/100k-retries")
}

// BenchmarkMemoryIdleDependency reports the memory (heap and stacks)
// held per idle registered dependency, with 1,000 registered under the
// default policy; every executor stays up until all are measured, as
// above.
func BenchmarkMemoryIdleDependency(b *testing.B) {
	const n = 1000
	var perDep, perExecutor, goroutines float64
	var all []*executor.Executor
	for range b.N {
		before, g0 := settledHeap(), runtime.NumGoroutine()
		ex, err := executor.New()
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, ex)
		base := heap()
		for i := range n {
			if err := ex.Register(fmt.Sprint("dep-", i), executor.Policy{}); err != nil {
				b.Fatal(err)
			}
		}
		after, g1 := heap(), runtime.NumGoroutine()
		perDep += grown(b, base, after) / n
		perExecutor += grown(b, before, base)
		goroutines += float64(g1 - g0)
	}
	b.StopTimer()
	for _, ex := range all {
		if err := ex.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	runs := float64(b.N)
	b.ReportMetric(perDep/runs, "B/idle-dep")
	b.ReportMetric(goroutines/runs, "goroutines/1000-deps")
	b.ReportMetric(perExecutor/runs/(1<<10), "KB/executor")
}

// Pending retries wait on timers, not goroutines.
func TestPendingRetriesHoldNoGoroutines(t *testing.T) {
	const n = 10_000
	g0 := runtime.NumGoroutine()
	ex, futures := pendRetries(t, n)
	if extra := runtime.NumGoroutine() - g0; extra > 100 {
		t.Errorf("%d goroutines for %d pending retries", extra, n)
	}
	drainShutdown(t, ex, futures)
}
