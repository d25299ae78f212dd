package executor

import (
	"context"
		"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/warden-go/warden/actors/retrier"
)

// TestMain fails the run if any goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
