package executor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Jobs that share the dependency's Timeout are watched by one timer; a
// caller's earlier deadline, before or after them, is still kept to the
// instant.
func TestDeadlinesKeptByOneTimerAndOwnTimers(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Timeout = 10 * time.Second
		p.Pool = Pool{Workers: 8, Queue: 8}
		ex := start(t, WithDependency("db", p))
		d, _ := ex.lookup("db")
		hang := func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }

		// A quick job leaves the timer set for its deadline, 10 s away.
		_, err := Do(t.Context(), ex, "db", ok(1))
		require.NoError(t, err)

		t0 := time.Now()
		long := ex.Submit(t.Context(), "db", func(ctx context.Context) (any, error) { return hang(ctx) })
		time.Sleep(time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		short := ex.Submit(ctx, "db", func(ctx context.Context) (any, error) { return hang(ctx) })
		later := ex.Submit(t.Context(), "db", func(ctx context.Context) (any, error) { return hang(ctx) })

		var te *TimeoutError
		_, err = short.Wait(t.Context())
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(t0), "the caller's deadline, out of order, on its own timer")
		_, err = long.Wait(t.Context())
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 10*time.Second, time.Since(t0))
		_, err = later.Wait(t.Context())
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 11*time.Second, time.Since(t0))

		// A quick job empties the list again but leaves its timer set
		// for 10 s from now; a caller's deadline earlier than that is
		// kept too.
		time.Sleep(time.Minute)
		_, err = Do(t.Context(), ex, "db", ok(2))
		require.NoError(t, err)
		ctx2, cancel2 := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel2()
		t1 := time.Now()
		_, err = Do(ctx2, ex, "db", hang)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 500*time.Millisecond, time.Since(t1))
		synctest.Wait()
		d.deadlines.mu.Lock()
		assert.Equal(t, d.deadlines.off, len(d.deadlines.buf), "nothing left in the list")
		d.deadlines.mu.Unlock()
	})
}

// The list holds no finished job and starts over once empty.
func TestDeadlinesListStaysSmall(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := noRetry(fast())
		p.Pool = Pool{Workers: 4, Queue: 4}
		ex := start(t, WithDependency("db", p))
		d, _ := ex.lookup("db")
		release := make(chan struct{})
		stuck := ex.Submit(t.Context(), "db", func(context.Context) (any, error) { <-release; return 0, nil })
		for i := range 5000 {
			v, err := Do(t.Context(), ex, "db", ok(i))
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		synctest.Wait() // a job leaves the list just after its caller has the result
		d.deadlines.mu.Lock()
		live := 0
		for _, j := range d.deadlines.buf[d.deadlines.off:] {
			if j != nil {
				live++
			}
		}
		size := len(d.deadlines.buf)
		d.deadlines.mu.Unlock()
		assert.Equal(t, 1, live, "only the stuck job is listed")
		assert.Equal(t, 5001, size, "the list spans from the stuck job on")
		close(release)
		_, err := stuck.Wait(t.Context())
		require.NoError(t, err)
		_, err = Do(t.Context(), ex, "db", ok(1))
		require.NoError(t, err)
		synctest.Wait()
		d.deadlines.mu.Lock()
		assert.LessOrEqual(t, len(d.deadlines.buf), 1, "an empty list starts over")
		d.deadlines.mu.Unlock()
	})
}
