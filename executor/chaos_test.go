package executor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
)

// chaosConfig describes a chaos run: an open-loop load at rate jobs/s for
// duration over deps dependencies, with a seeded fault mix per attempt and
// a brownout (100% failures) of the first dependency.
type chaosConfig struct {
	seed                   uint64
	deps                   int
	rate                   int
	duration               time.Duration
	brownoutFrom, brownout time.Duration
	// percent of attempts: retryable errors, latency past the attempt
	// timeout, hangs that ignore their context, panics.
	errors, slow, hangs, panics int
}

func defaultChaos() chaosConfig {
	return chaosConfig{
		seed: 20261128, deps: 4, rate: 2000, duration: 30 * time.Second,
		brownoutFrom: 10 * time.Second, brownout: 5 * time.Second,
		errors: 10, slow: 5, hangs: 3, panics: 2,
	}
}

func chaosPolicy() Policy {
	return Policy{
		Timeout:        500 * time.Millisecond,
		AttemptTimeout: 50 * time.Millisecond,
		Retry:          retrier.Policy{MaxAttempts: 3, InitialDelay: 5 * time.Millisecond, MaxDelay: 40 * time.Millisecond, Jitter: retrier.EqualJitter},
		Breaker: breaker.Policy{FailureRateThreshold: 0.5, WindowSize: 50, MinimumCalls: 20,
			OpenTimeout: time.Second, HalfOpenProbes: 2},
		Pool: Pool{Workers: 8, Queue: 128},
	}
}

// record is the ledger's line for one job.
type record struct {
	dep       int
	submitted time.Time
	deadline  time.Time
	ended     time.Time
	outcome   string
	err       error
	answers   atomic.Int32 // results delivered to the caller
	runs      atomic.Int32 // attempts that started
	lateStart atomic.Bool  // an attempt started at or after the deadline
}

// chaosReport is what a chaos run measured.
type chaosReport struct {
	jobs, faults, panics, probePeak, probeLimit int
	perDep                                      []map[string]uint64
	records                                     []*record
}

// runChaos drives the load through ex and waits for every job to end.
func runChaos(t *testing.T, ex *Executor, cfg chaosConfig, names []string) chaosReport {
	t.Helper()
	rep := chaosReport{probeLimit: chaosPolicy().Breaker.HalfOpenProbes}
	var (
		probes     = make([]atomic.Int32, cfg.deps)
		peak       atomic.Int32
		faults     atomic.Int64
		panics     atomic.Int64
		wg         sync.WaitGroup
		start      = time.Now()
		interval   = time.Second / time.Duration(cfg.rate)
		total      = int(cfg.duration / interval)
		rng        = rand.New(rand.NewPCG(cfg.seed, 1))
		brownStart = start.Add(cfg.brownoutFrom)
		brownEnd   = brownStart.Add(cfg.brownout)
	)
	rep.records = make([]*record, total)
	for i := range total {
		r := &record{dep: rng.IntN(cfg.deps)}
		rep.records[i] = r
		budget := 200*time.Millisecond + time.Duration(rng.IntN(301))*time.Millisecond
		jobSeed := rng.Uint64()
		cancelAfter := time.Duration(-1)
		if rng.IntN(100) < 2 { // 2% of callers give up early
			cancelAfter = time.Duration(rng.IntN(200)) * time.Millisecond
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), budget)
			defer cancel()
			if cancelAfter >= 0 {
				time.AfterFunc(cancelAfter, cancel)
			}
			r.submitted = time.Now()
			r.deadline = r.submitted.Add(budget)
			jr := rand.New(rand.NewPCG(jobSeed, 2))
			v, err := Do(ctx, ex, names[r.dep], func(ctx context.Context) (int, error) {
				r.runs.Add(1)
				now := time.Now()
				if !now.Before(r.deadline) {
					r.lateStart.Store(true)
				}
				if probing(ex, names[r.dep], ctx) {
					n := probes[r.dep].Add(1)
					defer probes[r.dep].Add(-1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
				}
				if r.dep == 0 && !now.Before(brownStart) && now.Before(brownEnd) {
					faults.Add(1)
					return 0, errors.New("brownout")
				}
				roll := jr.IntN(100)
				switch {
				case roll < cfg.errors:
					faults.Add(1)
					return 0, fmt.Errorf("transient: %w", errTransientChaos)
				case roll < cfg.errors+cfg.slow:
					faults.Add(1)
					select { // past the attempt timeout, but honours ctx
					case <-time.After(80 * time.Millisecond):
						return 1, nil
					case <-ctx.Done():
						return 0, ctx.Err()
					}
				case roll < cfg.errors+cfg.slow+cfg.hangs:
					faults.Add(1)
					time.Sleep(200 * time.Millisecond) // ignores its context
					return 1, nil
				case roll < cfg.errors+cfg.slow+cfg.hangs+cfg.panics:
					faults.Add(1)
					panics.Add(1)
					panic("injected")
				}
				time.Sleep(time.Duration(1+jr.IntN(5)) * time.Millisecond)
				return 1, nil
			})
			r.ended = time.Now()
			r.answers.Add(1)
			r.err = err
			r.outcome = classify(err)
			if err == nil && v != 1 {
				r.outcome = "wrong value"
			}
		})
		time.Sleep(interval)
	}
	wg.Wait()
	time.Sleep(time.Second) // hung attempts return; workers let go
	rep.jobs, rep.faults, rep.panics, rep.probePeak = total, int(faults.Load()), int(panics.Load()), int(peak.Load())
	rep.perDep = make([]map[string]uint64, cfg.deps)
	for i := range rep.perDep {
		rep.perDep[i] = map[string]uint64{}
	}
	for _, r := range rep.records {
		rep.perDep[r.dep][r.outcome]++
	}
	return rep
}

var errTransientChaos = errors.New("chaos")

// probing reports whether ctx is the context of an attempt that runs as
// a HALF_OPEN probe: it finds the attempt's job among the dependency's
// and reads its permit. Call it first thing in the job's function: the
// permit changes only for a later attempt, after this one has ended and
// cancelled ctx, which ctx.Err orders after the read.
func probing(ex *Executor, name string, ctx context.Context) bool {
	d, err := ex.lookup(name)
	if err != nil {
		return false
	}
	for _, j := range *d.slots.all.Load() {
		if a := j.actx.Load(); a != nil && context.Context(a) == ctx {
			probe := j.permit.Probe
			_ = ctx.Err()
			return probe
		}
	}
	return false
}

// checkLedger asserts the invariants a chaos run must keep.
func checkLedger(t *testing.T, ex *Executor, names []string, rep chaosReport, attempts int) {
	t.Helper()
	for i, r := range rep.records {
		require.Equal(t, int32(1), r.answers.Load(), "job %d answered %d times", i, r.answers.Load())
		assert.NotEqual(t, "wrong value", r.outcome, "job %d", i)
		assert.LessOrEqual(t, int(r.runs.Load()), attempts, "job %d ran too many attempts", i)
		assert.False(t, r.lateStart.Load(), "job %d: an attempt started after its deadline", i)
		if r.outcome == "succeeded" {
			assert.False(t, r.ended.After(r.deadline), "job %d succeeded after its deadline", i)
		}
	}
	for i, name := range names {
		checkCounters(t, ex, name, rep.perDep[i])
	}
	assert.LessOrEqual(t, rep.probePeak, rep.probeLimit, "HALF_OPEN admitted more probes than allowed")
}

// window summarises the jobs of some dependencies submitted in [from, to).
func window(recs []*record, keep func(*record) bool) (ok float64, p99 time.Duration, n int) {
	var lat []time.Duration
	var good int
	for _, r := range recs {
		if !keep(r) {
			continue
		}
		n++
		if r.outcome == "succeeded" {
			good++
			lat = append(lat, r.ended.Sub(r.submitted))
		}
	}
	if n == 0 || len(lat) == 0 {
		return 0, 0, n
	}
	slices.Sort(lat)
	return float64(good) / float64(n), lat[len(lat)*99/100], n
}

func TestChaosLedger(t *testing.T) {
	cfg := defaultChaos()
	bubble(t, func(t *testing.T) {
		names := make([]string, cfg.deps)
		var opts []Option
		for i := range names {
			names[i] = fmt.Sprint("dep-", i)
			opts = append(opts, WithDependency(names[i], chaosPolicy()))
		}
		ex, err := New(opts...)
		require.NoError(t, err)
		t0 := time.Now()
		rep := runChaos(t, ex, cfg, names)
		checkLedger(t, ex, names, rep, chaosPolicy().Retry.MaxAttempts)

		// The brownout of dep-0 must not touch the others.
		brown := func(r *record) bool {
			at := r.submitted.Sub(t0)
			return at >= cfg.brownoutFrom && at < cfg.brownoutFrom+cfg.brownout
		}
		inOK, inP99, inN := window(rep.records, func(r *record) bool { return r.dep != 0 && brown(r) })
		outOK, outP99, outN := window(rep.records, func(r *record) bool { return r.dep != 0 && !brown(r) })
		t.Logf("other dependencies: during the brownout %.1f%% ok, p99 %s (%d jobs); otherwise %.1f%% ok, p99 %s (%d jobs)",
			100*inOK, inP99, inN, 100*outOK, outP99, outN)
		assert.InDelta(t, outOK, inOK, 0.03, "success rate of the others moved during the brownout")
		assert.LessOrEqual(t, inP99, outP99+outP99/5, "p99 of the others grew during the brownout")
		d0, _ := ex.Stats(names[0])
		assert.NotZero(t, d0.ShortCircuited, "the brownout opened dep-0's breaker")

		var panicked, succeeded uint64
		for _, l := range rep.perDep {
			panicked += l["panicked"]
			succeeded += l["succeeded"]
		}
		require.NoError(t, ex.Shutdown(context.Background()))
		assert.Equal(t, Gauges{}, ex.Gauges())
		var lost, duplicated, late int
		for _, r := range rep.records {
			switch n := r.answers.Load(); {
			case n == 0:
				lost++
			case n > 1:
				duplicated++
			}
			if r.outcome == "succeeded" && r.ended.After(r.deadline) {
				late++
			}
		}
		chaosSummary.Store(&summaryLoad{
			rate: cfg.rate, secs: int(cfg.duration / time.Second), jobs: rep.jobs,
			faultPct: 100 * float64(rep.faults) / float64(totalAttempts(rep)), panics: int(panicked),
			lost: lost, duplicated: duplicated, late: late,
		})
		t.Logf("ledger: %d jobs, %d succeeded, %d job panics, probe peak %d of %d", rep.jobs, succeeded, panicked, rep.probePeak, rep.probeLimit)
	})
}

func totalAttempts(rep chaosReport) int {
	n := 0
	for _, r := range rep.records {
		n += int(r.runs.Load())
	}
	return max(n, 1)
}

// summaryLoad carries the chaos run's figures to the summary line.
type summaryLoad struct {
	rate, secs, jobs, panics int
	lost, duplicated, late   int
	faultPct                 float64
}

var chaosSummary atomic.Pointer[summaryLoad]
