package executor

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type ctxKey struct{}

// The job's context behaves as a context.Context: values from the
// caller, the job's deadline, children that end with it, AfterFunc that
// can be stopped, and no goroutine per derived context.
func TestJobContext(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Timeout = time.Second
		ex := start(t, WithDependency("db", p))
		parent := context.WithValue(t.Context(), ctxKey{}, "trace-42")
		var childErr, stoppedRan atomic.Value
		var fired atomic.Int32
		t0 := time.Now()
		_, err := Do(parent, ex, "db", func(ctx context.Context) (int, error) {
			assert.Equal(t, "trace-42", ctx.Value(ctxKey{}), "values come from the caller")
			dl, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.Equal(t, t0.Add(time.Second), dl)
			assert.NoError(t, ctx.Err())
			assert.Contains(t, ctx.(interface{ String() string }).String(), "db")

			child, cancel := context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(ctx, func() { stoppedRan.Store(true) })
			assert.True(t, stop(), "a registered callback can be stopped")
			context.AfterFunc(ctx, func() { fired.Add(1) })
			<-child.Done() // ends with the job's deadline
			childErr.Store(child.Err())
			return 0, ctx.Err()
		})
		assert.ErrorIs(t, err, ErrTimeout)
		synctest.Wait()
		require.NotNil(t, childErr.Load())
		assert.ErrorIs(t, childErr.Load().(error), context.DeadlineExceeded)
		assert.Equal(t, int32(1), fired.Load())
		assert.Nil(t, stoppedRan.Load(), "a stopped callback never runs")
	})
}
