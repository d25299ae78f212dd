package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/warden-go/warden/actors/retrier"
)

// TestMain fails the run if any goroutine outlives the tests, and prints
// the reliability summary when the chaos test ran.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if line := summaryLine(); line != "" {
			fmt.Println(line)
		}
		os.Exit(code)
	}))
}

// survived counts the faults the tests put the executor through, for the
// summary line: crashes of its actors and workers that were restarted,
// escalations, calls rejected in bursts, and shutdowns under load.
var survived struct {
	crashes, escalations, rejections, shutdowns atomic.Int64
}

// summaryLine reports what the chaos test and the fault and bad-input
// tests survived; empty when the chaos test did not run.
func summaryLine() string {
	l := chaosSummary.Load()
	if l == nil {
		return ""
	}
	return fmt.Sprintf("load held: %d jobs/s for %d s (%d jobs) with %.1f%% injected faults, %d lost, %d duplicated, %d late; "+
		"faults survived: %d job panics, %d actor crashes, %d escalations, %d burst rejections, %d shutdowns under load; bad inputs tried: %d",
		l.rate, l.secs, l.jobs, l.faultPct, l.lost, l.duplicated, l.late,
		l.panics, survived.crashes.Load(), survived.escalations.Load(), survived.rejections.Load(), survived.shutdowns.Load(), badInputs.Load())
}

// bubble runs f in a synctest bubble with fake time.
func bubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, f)
}

// start builds an executor for a test and registers its shutdown, which
// must answer everything and bring every gauge back to zero.
func start(t *testing.T, opts ...Option) *Executor {
	t.Helper()
	ex, err := New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, ex) })
	return ex
}

func stop(t *testing.T, ex *Executor) {
	t.Helper()
	require.NoError(t, ex.Shutdown(context.Background()))
	assert.Equal(t, Gauges{}, ex.Gauges(), "gauges after shutdown")
}

// fast is a policy with short, deterministic timings for tests.
func fast() Policy {
	return Policy{
		Timeout: 10 * time.Second,
		Retry:   retrier.Policy{MaxAttempts: 3, InitialDelay: 100 * time.Millisecond, Jitter: retrier.NoJitter},
		Pool:    Pool{Workers: 2, Queue: 4},
	}
}

// errBoom is the dependency's error in tests.
var errBoom = errors.New("boom")

// ok is a job that returns v.
func ok(v int) func(context.Context) (int, error) {
	return func(context.Context) (int, error) { return v, nil }
}
