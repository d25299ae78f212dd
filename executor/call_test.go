package executor

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCallReturnsTheValue(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		db, err := ex.Dependency("db")
		require.NoError(t, err)
		v, err := Call(context.Background(), db, func(context.Context) (string, error) { return "row", nil })
		require.NoError(t, err)
		assert.Equal(t, "row", v)
		n, err := Do(context.Background(), ex, "db", func(context.Context) (int, error) { return 42, nil })
		require.NoError(t, err)
		assert.Equal(t, 42, n)
		st := db.Stats()
		assert.Equal(t, uint64(2), st.Submitted)
		assert.Equal(t, uint64(2), st.Succeeded)
	})
}

func TestCallRetriesThenFails(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		boom := errors.New("boom")
		calls := 0
		t0 := time.Now()
		_, err := Do(context.Background(), ex, "db", func(context.Context) (int, error) { calls++; return 0, boom })
		assert.ErrorIs(t, err, boom)
		assert.ErrorIs(t, err, ErrRetriesExhausted)
		assert.Equal(t, 3, calls)
		assert.Equal(t, 300*time.Millisecond, time.Since(t0), "100ms then 200ms")
	})
}

func TestGoFuture(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		db, _ := ex.Dependency("db")
		f := Go(context.Background(), db, func(context.Context) (string, error) {
			time.Sleep(time.Second)
			return "late", nil
		})
		_, ok, _ := f.Result()
		assert.False(t, ok)
		v, err := f.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "late", v)
		v, ok, err = f.Result()
		assert.True(t, ok)
		assert.NoError(t, err)
		assert.Equal(t, "late", v)
	})
}

// A dependency starts its workers at its first call: one registered and
// never called holds no goroutine, and a rejected call starts none.
func TestWorkersStartAtTheFirstCall(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Pool.Workers = 3
		ex := start(t, WithDependency("db", p), WithDependency("idle", p))
		n := runtime.NumGoroutine()
		assert.Zero(t, ex.Gauges().Workers)
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Do(cancelled, ex, "idle", ok(1))
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, ex.Gauges().Workers, "a call turned away starts no worker")
		_, err = Do(context.Background(), ex, "db", ok(1))
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, int64(3), ex.Gauges().Workers, "db's pool, not idle's")
		assert.Equal(t, n+3, runtime.NumGoroutine())
		for range 10 {
			_, err := Do(context.Background(), ex, "db", ok(1))
			require.NoError(t, err)
		}
		assert.Equal(t, int64(3), ex.Gauges().Workers, "started once")
	})
}

// A future's Done and Wait work whether they come before or after the
// end, for any number of waiters, and the result is set once.
func TestFutureWaitersBeforeAndAfter(t *testing.T) {
	bubble(t, func(t *testing.T) {
		var f Future[int]
		early := f.Done()
		select {
		case <-early:
			t.Fatal("done before the end")
		default:
		}
		got := make(chan int, 3)
		for range 3 {
			go func() {
				v, err := f.Wait(context.Background())
				assert.NoError(t, err)
				got <- v
			}()
		}
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := f.Wait(ctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, "not ready yet")

		f.complete(7, nil)
		f.complete(8, errors.New("second")) // changes nothing
		<-early
		for range 3 {
			assert.Equal(t, 7, <-got)
		}
		<-f.Done()
		v, ok, err := f.Result()
		assert.True(t, ok)
		assert.NoError(t, err)
		assert.Equal(t, 7, v)

		var late Future[int] // no waiter before its end: it never makes a channel
		late.complete(9, nil)
		assert.True(t, late.done == closedChan, "the shared closed channel")
		<-late.Done()
		v, err = late.Wait(context.Background())
		assert.NoError(t, err)
		assert.Equal(t, 9, v)
	})
}
