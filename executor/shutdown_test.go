package executor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// protoactor's dead-letter throttle keeps a goroutine for its interval
// after a dead letter (before v2 goleak found it after Shutdown, once in
// four runs under load: the interval was 1 s, longer than goleak's
// retries). The executor's own system uses a short interval and Shutdown
// waits it out. Real time: the goroutine is protoactor's and starts when
// first scheduled, so under load it may outlive the wait by its
// scheduling delay; goleak's retries cover that, a 1 s interval not.
func TestShutdownLeavesNoDeadLetterThrottleBehind(t *testing.T) {
	ex, err := New(WithDependency("db", fast()))
	require.NoError(t, err)
	ex.sendDeadLetter()
	require.NoError(t, ex.Shutdown(context.Background()))
	assert.Equal(t, Gauges{}, ex.Gauges())
	goleak.VerifyNone(t)
}

// Shutdown answers queued and waiting jobs at once with ErrShutdown and
// lets a running attempt finish within its grace.
func TestShutdownAnswersWaitingJobsAndLetsRunningOnesFinish(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Pool = Pool{Workers: 1, Queue: 2}
		ex, err := New(WithDependency("db", p))
		require.NoError(t, err)
		db, _ := ex.Dependency("db")
		running := Go(context.Background(), db, func(context.Context) (string, error) {
			time.Sleep(time.Second)
			return "finished", nil
		})
		queued := Go(context.Background(), db, func(context.Context) (string, error) { return "never", nil })
		time.Sleep(10 * time.Millisecond)
		t0 := time.Now()
		done := make(chan error)
		go func() { done <- ex.Shutdown(context.Background()) }()
		_, err = queued.Wait(context.Background())
		assert.ErrorIs(t, err, ErrShutdown)
		assert.Zero(t, time.Since(t0), "answered at once")
		v, err := running.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "finished", v)
		require.NoError(t, <-done)
		assert.Equal(t, 990*time.Millisecond, time.Since(t0))
		_, err = Call(context.Background(), db, func(context.Context) (string, error) { return "", nil })
		assert.ErrorIs(t, err, ErrShutdown)
		assert.Equal(t, Gauges{}, ex.Gauges())
		st := db.Stats()
		assert.Equal(t, st.Submitted, st.Ended())
	})
}

// Past Shutdown's grace, running attempts are answered with ErrShutdown
// and their contexts cancelled.
func TestShutdownGraceEnds(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex, err := New(WithDependency("db", fast()))
		require.NoError(t, err)
		db, _ := ex.Dependency("db")
		f := Go(context.Background(), db, func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		})
		time.Sleep(10 * time.Millisecond)
		grace, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, ex.Shutdown(grace), context.DeadlineExceeded)
		_, err = f.Wait(context.Background())
		assert.ErrorIs(t, err, ErrShutdown)
		require.NoError(t, ex.Shutdown(context.Background()), "a second call waits for the same shutdown")
		assert.Equal(t, Gauges{}, ex.Gauges())
	})
}
