package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/warden-go/warden/executor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func connect(t *testing.T, s *server) *pgx.Conn {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, s.url())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(ctx) })
	return c
}

func code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Real server errors, classified: a unique violation is the statement's
// (not retried, not the server's failure); a deadlock, a serialization
// failure and an administrator's termination are retried.
func TestClassificationOfRealErrors(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	a, b := connect(t, s), connect(t, s)
	_, err := a.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0), (2, 0)")
	require.NoError(t, err)

	_, err = a.Exec(ctx, "INSERT INTO t VALUES (1, 1)")
	assert.Equal(t, "23505", code(err))
	assert.False(t, Retryable(err))
	assert.False(t, ServerFailure(err))

	// A deadlock: each transaction holds one row and asks for the other's.
	ta, err := a.Begin(ctx)
	require.NoError(t, err)
	tb, err := b.Begin(ctx)
	require.NoError(t, err)
	_, err = ta.Exec(ctx, "UPDATE t SET v = v + 1 WHERE id = 1")
	require.NoError(t, err)
	_, err = tb.Exec(ctx, "UPDATE t SET v = v + 1 WHERE id = 2")
	require.NoError(t, err)
	errA := make(chan error, 1)
	go func() { _, err := ta.Exec(ctx, "UPDATE t SET v = v + 1 WHERE id = 2"); errA <- err }()
	time.Sleep(100 * time.Millisecond)
	_, errB := tb.Exec(ctx, "UPDATE t SET v = v + 1 WHERE id = 1")
	deadlocked := errB
	if deadlocked == nil {
		require.NoError(t, tb.Commit(ctx))
		deadlocked = <-errA
	} else {
		_ = tb.Rollback(ctx)
		require.NoError(t, <-errA)
	}
	_ = ta.Rollback(ctx)
	assert.Equal(t, "40P01", code(deadlocked))
	assert.True(t, Retryable(deadlocked))

	// A serialization failure: two serializable transactions each read
	// what the other writes.
	ser := pgx.TxOptions{IsoLevel: pgx.Serializable}
	ta, err = a.BeginTx(ctx, ser)
	require.NoError(t, err)
	tb, err = b.BeginTx(ctx, ser)
	require.NoError(t, err)
	for _, q := range []struct {
		tx  pgx.Tx
		sql string
	}{{ta, "SELECT sum(v) FROM t WHERE id = 2"}, {tb, "SELECT sum(v) FROM t WHERE id = 1"},
		{ta, "UPDATE t SET v = 10 WHERE id = 1"}, {tb, "UPDATE t SET v = 20 WHERE id = 2"}} {
		_, err := q.tx.Exec(ctx, q.sql)
		require.NoError(t, err)
	}
	require.NoError(t, ta.Commit(ctx))
	err = tb.Commit(ctx)
	assert.Equal(t, "40001", code(err))
	assert.True(t, Retryable(err))

	// An administrator's termination of the session.
	var pid uint32
	require.NoError(t, a.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	_, err = b.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
	require.NoError(t, err)
	_, err = a.Exec(ctx, "SELECT 1")
	require.Error(t, err)
	assert.True(t, Retryable(err), "%v (SQLSTATE %q)", err, code(err))

	// A lost connection: the server dies under an open session, and a
	// new one is refused.
	s.kill()
	_, err = b.Exec(ctx, "SELECT 1")
	require.Error(t, err)
	assert.True(t, Retryable(err), "lost: %v", err)
	_, err = pgx.Connect(ctx, s.url())
	require.Error(t, err)
	assert.True(t, Retryable(err), "refused: %v", err)
}

// Under load, the server is killed (pg_ctl stop -m immediate) and started
// again: the breaker opens, probes and closes, and every job is answered
// exactly once.
func TestServerRestartUnderLoad(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, s.url())
	require.NoError(t, err)
	defer pool.Close()

	var mu sync.Mutex
	var transitions []string
	ex, err := executor.New(executor.WithMeterProvider(nil), executor.WithDependency("postgres", Policy(300*time.Millisecond)),
		executor.WithEvents(func(e executor.Event) {
			if e.Kind == executor.EventStateChange {
				mu.Lock()
				transitions = append(transitions, e.From.String()+">"+e.To.String())
				mu.Unlock()
			}
		}, 0))
	require.NoError(t, err)
	defer func() { require.NoError(t, ex.Shutdown(ctx)) }()
	state := func() executor.State { st, _ := ex.Stats("postgres"); return st.State }

	var answered, okCount atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := executor.Do(ctx, ex, "postgres", func(ctx context.Context) (int, error) {
					var one int
					return one, pool.QueryRow(ctx, "SELECT 1").Scan(&one)
				})
				answered.Add(1)
				if err == nil {
					okCount.Add(1)
				} else {
					time.Sleep(5 * time.Millisecond) // a rejected caller backs off a little
				}
			}
		})
	}
	eventually := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	eventually("calls succeed", 30*time.Second, func() bool { return okCount.Load() > 100 })
	s.kill()
	eventually("the breaker opens", 30*time.Second, func() bool { return state() == executor.Open })
	beforeRestart := okCount.Load()
	s.start()
	eventually("the breaker closes again", 60*time.Second, func() bool { return state() == executor.Closed && okCount.Load() > beforeRestart+100 })
	close(stop)
	wg.Wait()

	st, _ := ex.Stats("postgres")
	assert.Equal(t, st.Submitted, st.Ended(), "every job ended")
	assert.Equal(t, uint64(answered.Load()), st.Submitted, "every job answered exactly once")
	assert.Positive(t, st.ShortCircuited, "calls were turned away while open")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, transitions, "closed>open")
	assert.Contains(t, transitions, "half-open>closed")
	t.Logf("%d jobs: %d succeeded, %d failed, %d timed out, %d short-circuited; transitions %v",
		st.Submitted, st.Succeeded, st.Failed, st.TimedOut, st.ShortCircuited, transitions)
}
