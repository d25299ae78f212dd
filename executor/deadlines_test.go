package executor

import (
	"context"
	"math/rand/v2"
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

// The list holds no finished job, stays short behind a long one, and
// starts over once empty.
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
				require.Equal(t, j, d.deadlines.buf[j.dlSlot-1], "each job knows its place")
				live++
			}
		}
		size := len(d.deadlines.buf)
		d.deadlines.mu.Unlock()
		assert.Equal(t, 1, live, "only the stuck job is listed")
		assert.LessOrEqual(t, size, 65, "the list is compacted behind the stuck job")
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

// Random adds, removals and firings keep the list's invariants: every job
// in it knows its place, the count of jobs is right, its empty slots stay
// within 64 or three times that count, and jobs come due in order, each
// once.
func TestDeadlinesListInvariants(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		ex := start(t, WithDependency("db", fast()))
		dep, _ := ex.lookup("db")
		q := dep.deadlines
		var in []*job      // what the list should hold, in order
		var last time.Time // the latest deadline added since the list was empty
		ended := map[*job]int{}
		check := func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			var got []*job
			for _, j := range q.buf[q.off:] {
				if j != nil {
					require.Equal(t, j, q.buf[j.dlSlot-1])
					got = append(got, j)
				}
			}
			require.Equal(t, len(in), len(got))
			for i := range in {
				require.Same(t, in[i], got[i], "in order")
			}
			require.Equal(t, len(in), q.live)
			require.LessOrEqual(t, len(q.buf)-q.off-q.live, max(64, 3*q.live), "empty slots: off=%d len=%d live=%d", q.off, len(q.buf), q.live)
		}
		for step := range 20000 {
			switch r := rng.IntN(20); {
			case r < 9:
				// Mostly in order, as jobs sharing a Timeout are; now and
				// then earlier, as a caller's own deadline is.
				timeout := 50*time.Millisecond + time.Duration(step)*time.Nanosecond
				if rng.IntN(10) == 0 {
					timeout = time.Duration(1+rng.IntN(50)) * time.Millisecond
				}
				j := &job{dep: dep, deadline: time.Now().Add(timeout)}
				j.f.done = make(chan struct{})
				if len(in) == 0 {
					last = time.Time{}
				}
				if q.add(j, time.Now()) {
					require.False(t, j.deadline.Before(last), "added in order")
					in = append(in, j)
					last = j.deadline
				} else {
					require.True(t, j.deadline.Before(last), "refused only out of order")
				}
			case r < 18 && len(in) > 0:
				// Mostly not the first job, so that it holds the list
				// while later jobs come and go, and compaction is needed.
				k := rng.IntN(len(in))
				if k == 0 && len(in) > 1 && rng.IntN(10) > 0 {
					k = 1 + rng.IntN(len(in)-1)
				}
				q.remove(in[k])
				in = append(in[:k], in[k+1:]...)
			default:
				time.Sleep(time.Duration(rng.IntN(1000)) * time.Microsecond)
				synctest.Wait()
				for len(in) > 0 && !in[0].deadline.After(time.Now()) {
					ended[in[0]]++
					in = in[1:]
				}
			}
			check() // every step: a broken list fails here, before it can wedge
		}
		check()
		q.mu.Lock()
		assert.Greater(t, q.compacts, 10, "the run compacted the list")
		q.mu.Unlock()
		for j, n := range ended {
			require.Equal(t, 1, n)
			require.True(t, j.f.isDone(), "a job due was ended")
		}
	})
}
