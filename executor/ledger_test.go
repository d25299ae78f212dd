package executor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
)

// entry is the ledger's record of one job.
type entry struct {
	dep      string
	outcome  string
	runs     int
	ended    time.Time
	deadline time.Time
	err      error
}

// classify names the counter a job's error belongs in, from the error
// alone, as a caller sees it: a *CircuitOpenError itself was turned away
// without running; an error that only wraps one is a retry the open
// breaker stopped, which ran and failed (or timed out); the caller's own
// context ending is a cancellation.
func classify(err error) string {
	var (
		pe *PanicError
		ce *CircuitOpenError
		te *TimeoutError
	)
	switch {
	case err == nil:
		return "succeeded"
	case errors.As(err, &pe):
		return "panicked"
	case errors.As(err, &ce) && error(ce) == err:
		return "short-circuited"
	case errors.As(err, &te):
		return "timed out"
	case errors.Is(err, ErrRejected):
		return "rejected"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	return "failed"
}

// TestLedger drives thousands of jobs over several dependencies with
// injected errors, panics, slow and hanging calls and caller cancellations,
// then checks that every job ended exactly once, that no success came after
// its deadline or from an attempt past its own, that no job ran more
// attempts than allowed, and that each dependency's counters add up to the
// ledger.
func TestLedger(t *testing.T) {
	const (
		jobs      = 4000
		callers   = 16
		attempts  = 3
		seed      = 20261128
		depsCount = 4
		late      = -1 // the value of an attempt that outlived its deadline
	)
	bubble(t, func(t *testing.T) {
		p := Policy{
			Timeout:        400 * time.Millisecond,
			AttemptTimeout: 50 * time.Millisecond,
			Retry:          retrier.Policy{MaxAttempts: attempts, InitialDelay: 5 * time.Millisecond, MaxDelay: 40 * time.Millisecond},
			Breaker:        breaker.Policy{FailureRateThreshold: 0.6, WindowSize: 100, MinimumCalls: 20, OpenTimeout: 200 * time.Millisecond, HalfOpenProbes: 2},
			Pool:           Pool{Workers: 8, Queue: 64},
		}
		var opts []Option
		names := make([]string, depsCount)
		for i := range names {
			names[i] = fmt.Sprintf("dep-%d", i)
			opts = append(opts, WithDependency(names[i], p))
		}
		ex, err := New(opts...)
		require.NoError(t, err)

		ledger := make([]entry, jobs)
		var mu sync.Mutex // guards runs, which job functions write
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(seed, uint64(c)))
				for id := c; id < jobs; id += callers {
					e := &ledger[id]
					e.dep = names[rng.IntN(depsCount)]
					fault := rng.IntN(100)
					brownout := e.dep == names[0] && id > jobs/3 && id < jobs/2
					ctx, cancel := context.WithCancel(context.Background())
					if fault >= 95 {
						go func(d time.Duration) { time.Sleep(d); cancel() }(time.Duration(rng.IntN(100)) * time.Millisecond)
					}
					e.deadline = time.Now().Add(p.Timeout)
					jitter := time.Duration(rng.IntN(20)) * time.Millisecond
					f := Submit(ctx, ex, e.dep, func(ctx context.Context) (int, error) {
						mu.Lock()
						e.runs++
						if !time.Now().Before(e.deadline) {
							t.Errorf("job %d: an attempt started at or after its deadline", id)
						}
						mu.Unlock()
						switch {
						case brownout:
							return 0, errors.New("brownout")
						case fault < 10:
							return 0, errors.New("transient")
						case fault < 15:
							time.Sleep(80 * time.Millisecond) // past the attempt timeout, honours ctx
							select {
							case <-ctx.Done():
								return 0, ctx.Err()
							default:
							}
							return late, nil
						case fault < 18:
							time.Sleep(450 * time.Millisecond) // ignores its context, past the job deadline
							return late, nil
						case fault < 20:
							panic("injected")
						}
						time.Sleep(jitter)
						return id, nil
					})
					v, err := f.Wait(context.Background())
					e.ended = time.Now()
					e.err = err
					e.outcome = classify(err)
					if err == nil && v != id {
						t.Errorf("job %d succeeded with %d", id, v)
					}
					cancel()
					time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
				}
			})
		}
		wg.Wait()
		synctest.Wait()
		time.Sleep(time.Second) // hung attempts return; workers let go
		synctest.Wait()

		perDep := map[string]map[string]uint64{}
		var stopped int // retries the open breaker stopped
		for id, e := range ledger {
			require.NotEmpty(t, e.outcome, "job %d never ended", id)
			if perDep[e.dep] == nil {
				perDep[e.dep] = map[string]uint64{}
			}
			perDep[e.dep][e.outcome]++
			assert.LessOrEqual(t, e.runs, attempts, "job %d ran too many attempts", id)
			if e.outcome == "succeeded" {
				assert.False(t, e.ended.After(e.deadline), "job %d succeeded after its deadline", id)
			}
			switch e.outcome {
			case "rejected", "short-circuited":
				assert.Zero(t, e.runs, "job %d was turned away at admission but ran", id)
			case "failed", "timed out":
				if errors.Is(e.err, ErrCircuitOpen) {
					stopped++
					assert.NotZero(t, e.runs, "job %d: a stopped retry ran before", id)
				}
			}
		}
		total := map[string]uint64{}
		for _, name := range names {
			l := perDep[name]
			checkCounters(t, ex, name, l)
			for k, n := range l {
				total[k] += n
			}
		}
		t.Logf("ledger: %d jobs over %d dependencies: %v; %d retries stopped by an open breaker", jobs, depsCount, total, stopped)
		for _, k := range []string{"succeeded", "failed", "timed out", "short-circuited", "panicked", "cancelled"} {
			assert.NotZero(t, total[k], "the mix produced no %q outcome; the test lost its teeth", k)
		}
		require.NoError(t, ex.Shutdown(context.Background()))
		assert.Equal(t, Gauges{}, ex.Gauges())
	})
}

// checkCounters asserts that a dependency's counters add up and match the
// ledger's count of each outcome.
func checkCounters(t *testing.T, ex *Executor, name string, l map[string]uint64) {
	t.Helper()
	st, err := ex.Stats(name)
	require.NoError(t, err)
	var submitted uint64
	for _, n := range l {
		submitted += n
	}
	assert.Equal(t, submitted, st.Submitted, name)
	assert.Equal(t, st.Submitted, st.Ended(), "%s: counters add up", name)
	assert.Equal(t, l["succeeded"], st.Succeeded, name)
	assert.Equal(t, l["failed"], st.Failed, name)
	assert.Equal(t, l["timed out"], st.TimedOut, name)
	assert.Equal(t, l["short-circuited"], st.ShortCircuited, name)
	assert.Equal(t, l["rejected"], st.Rejected, name)
	assert.Equal(t, l["cancelled"], st.Cancelled, name)
	assert.Equal(t, l["panicked"], st.Panicked, name)
	assert.Zero(t, st.InFlight, name)
}
