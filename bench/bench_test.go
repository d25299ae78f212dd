package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/warden-go/warden/executor"
)

var (
	allPeers     = []peer{direct, chanPool, gobreakerPool, gobreakerWorker, eapache, failsafeBreaker, failsafeFull, warden, wardenHandle}
	breakerPeers = []peer{gobreakerPool, gobreakerWorker, eapache, failsafeBreaker, failsafeFull, warden, wardenHandle}
	retryPeers   = []peer{failsafeFull, warden, wardenHandle}
	faultPeers   = []peer{gobreakerPool, gobreakerWorker, failsafeFull, warden}
)

// rounds is how many times each scenario runs in one benchmark run
// (BENCH_ROUNDS, default 1). Rounds are the outer loop and peers the inner
// one, so peers alternate within a run (A B A B ...) and share its noise;
// go test names a scenario's repeats name#01, name#02, ...
var rounds = func() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 1
}()

// outcome checks job i's result; a non-nil error fails the benchmark.
type outcome func(i, v int, err error) error

// drive runs b.N jobs through call from par goroutines (1: the benchmark
// goroutine alone), spread over deps dependencies, and reports jobs/s and
// CPU time per job alongside ns/op and allocations.
func drive(b *testing.B, call caller, deps, par int, mk func(i int) job, check outcome) {
	b.ReportAllocs()
	ctx := context.Background()
	var bad atomic.Pointer[error]
	fail := func(err error) {
		if err != nil {
			e := err // escapes only when a job went wrong
			bad.CompareAndSwap(nil, &e)
		}
	}
	runtime.GC()
	cpu0 := cpuTime()
	b.ResetTimer()
	if par == 1 {
		for i := range b.N {
			v, err := call(ctx, i%deps, mk(i))
			fail(check(i, v, err))
		}
	} else {
		var seq atomic.Int64
		b.SetParallelism(max(1, par/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1)) * 7919 // each goroutine its own sequence
			for pb.Next() {
				i++
				v, err := call(ctx, i%deps, mk(i))
				fail(check(i, v, err))
			}
		})
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	if p := bad.Load(); p != nil {
		b.Fatalf("wrong result: %v", *p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func run(b *testing.B, p peer, s setup, mk func(i int) job, check outcome) {
	call, stop, err := p.build(s)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	drive(b, call, s.deps, s.par, mk, check)
}

const answer = 7

var (
	nothing = func(context.Context) (int, error) { return answer, nil }
	work1us = func(context.Context) (int, error) {
		if spin(spinIters) == 42 {
			return 0, errors.New("unreachable")
		}
		return answer, nil
	}
)

func same(f job) func(int) job { return func(int) job { return f } }

func expectAnswer(i, v int, err error) error {
	if err != nil || v != answer {
		return fmt.Errorf("job %d: got %d, %v; want %d", i, v, err, answer)
	}
	return nil
}

func successBench(b *testing.B, work job, deps []int, pars []int) {
	for range rounds {
		for _, d := range deps {
			for _, par := range pars {
				for _, p := range allPeers {
					b.Run(fmt.Sprintf("%s/deps=%d/par=%d", p.name, d, par), func(b *testing.B) {
						run(b, p, setup{deps: d, par: par, threshold: 5}, same(work), expectAnswer)
					})
				}
			}
		}
	}
}

// BenchmarkSuccess: every job succeeds at once; the cost is the machinery.
func BenchmarkSuccess(b *testing.B) {
	successBench(b, nothing, []int{8}, []int{1, 16, 256, 1024})
}

// BenchmarkSuccessWork: every job does about 1 us of CPU work.
func BenchmarkSuccessWork(b *testing.B) {
	successBench(b, work1us, []int{8}, []int{1, 16, 256, 1024})
}

// BenchmarkDeps: the success path over 1 and 1,000 dependencies.
func BenchmarkDeps(b *testing.B) {
	successBench(b, nothing, []int{1, 1000}, []int{256})
}

// BenchmarkRejectOpen: every breaker is open; no job may run.
func BenchmarkRejectOpen(b *testing.B) {
	const deps = 8
	for r := range rounds * 2 {
		par := []int{1, 1024}[r%2]
		for _, p := range breakerPeers {
			b.Run(fmt.Sprintf("%s/deps=%d/par=%d", p.name, deps, par), func(b *testing.B) {
				s := setup{deps: deps, par: par, threshold: 5}
				call, stop, err := p.build(s)
				if err != nil {
					b.Fatal(err)
				}
				defer stop()
				trip(b, call, deps)
				var ran atomic.Int64
				runs := func(context.Context) (int, error) { ran.Add(1); return answer, nil }
				drive(b, call, deps, par, same(runs), func(i, _ int, err error) error {
					if err == nil {
						return fmt.Errorf("job %d passed an open breaker", i)
					}
					return nil
				})
				if n := ran.Load(); n != 0 {
					b.Fatalf("%d jobs ran behind an open breaker", n)
				}
			})
		}
	}
}

// trip opens every dependency's breaker and waits until calls are
// rejected without running.
func trip(b *testing.B, call caller, deps int) {
	ctx := context.Background()
	fail := func(context.Context) (int, error) { return 0, errTransient }
	for dep := range deps {
		deadline := time.Now().Add(10 * time.Second)
		for {
			ran := false
			_, err := call(ctx, dep, func(context.Context) (int, error) { ran = true; return 0, errTransient })
			if err != nil && !ran {
				break // rejected without running: open
			}
			for range 5 {
				_, _ = call(ctx, dep, fail)
			}
			if time.Now().After(deadline) {
				b.Fatalf("dependency %d never opened", dep)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// BenchmarkRetry: each job's first attempt fails and its second succeeds,
// with a minimal delay, so the cost measured is the retry machinery.
func BenchmarkRetry(b *testing.B) {
	for r := range rounds * 2 {
		par := []int{1, 256}[r%2]
		for _, p := range retryPeers {
			b.Run(fmt.Sprintf("%s/deps=8/par=%d", p.name, par), func(b *testing.B) {
				mk := func(int) job {
					var n atomic.Int32
					return func(context.Context) (int, error) {
						if n.Add(1) == 1 {
							return 0, errTransient
						}
						return answer, nil
					}
				}
				run(b, p, setup{deps: 8, par: par, threshold: 1 << 20}, mk, expectAnswer)
			})
		}
	}
}

// BenchmarkMixedFaults: 10% of jobs fail, 1% panic, the rest succeed.
func BenchmarkMixedFaults(b *testing.B) {
	mk := func(i int) job {
		switch {
		case i%100 == 0:
			return func(context.Context) (int, error) { panic("injected") }
		case i%10 == 1:
			return func(context.Context) (int, error) { return 0, errTransient }
		}
		return nothing
	}
	check := func(i, v int, err error) error {
		switch {
		case i%100 == 0:
			if errors.Is(err, executor.ErrPanic) || errors.Is(err, errPanicked) {
				return nil
			}
		case i%10 == 1:
			if errors.Is(err, errTransient) {
				return nil
			}
		default:
			return expectAnswer(i, v, err)
		}
		return fmt.Errorf("job %d: got %d, %v", i, v, err)
	}
	for range rounds {
		for _, p := range faultPeers {
			b.Run(fmt.Sprintf("%s/deps=8/par=256", p.name), func(b *testing.B) {
				run(b, p, setup{deps: 8, par: 256, threshold: 1 << 20}, mk, check)
			})
		}
	}
}

// The metrics peers: Warden through handles with its metrics off, and
// with the OpenTelemetry SDK installed (a manual reader, which aggregates
// every measurement as an exporting reader does). warden-handle itself
// sends them to the global provider, a no-op while no SDK is installed.
var (
	wardenNoMetrics = wardenHandleWith("warden-handle-nometrics", func() []executor.Option {
		return []executor.Option{executor.WithMeterProvider(nil)}
	})
	wardenOTelSDK = wardenHandleWith("warden-handle-otelsdk", func() []executor.Option {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		return []executor.Option{executor.WithMeterProvider(mp)}
	})
	// wardenOTelCounts drops the duration histogram with a view: the
	// counts and gauges alone, read at collection.
	wardenOTelCounts = wardenHandleWith("warden-handle-otelsdk-counts", func() []executor.Option {
		drop := sdkmetric.NewView(sdkmetric.Instrument{Name: "warden.call.duration"}, sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()), sdkmetric.WithView(drop))
		return []executor.Option{executor.WithMeterProvider(mp)}
	})
	// wardenTraced traces every job with the OTel SDK (every span
	// sampled, handed to a processor that drops it), its metrics off.
	wardenTraced = wardenHandleWith("warden-handle-traced", func() []executor.Option {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(dropSpans{}))
		return []executor.Option{executor.WithMeterProvider(nil), executor.WithTracerProvider(tp)}
	})
	metricsPeers = []peer{wardenHandle, wardenNoMetrics, wardenOTelSDK, wardenOTelCounts, wardenTraced, wardenClustered}
)

// dropSpans is a span processor that drops every span it is given.
type dropSpans struct{}

func (dropSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (dropSpans) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (dropSpans) Shutdown(context.Context) error                  { return nil }
func (dropSpans) ForceFlush(context.Context) error                { return nil }

// BenchmarkMetrics: the success path with metrics off, to the no-op
// global provider, and to the OpenTelemetry SDK.
func BenchmarkMetrics(b *testing.B) {
	for r := range rounds * 2 {
		par := []int{1, 1024}[r%2]
		for _, p := range metricsPeers {
			b.Run(fmt.Sprintf("%s/deps=8/par=%d", p.name, par), func(b *testing.B) {
				run(b, p, setup{deps: 8, par: par, threshold: 5}, same(nothing), expectAnswer)
			})
		}
	}
}
