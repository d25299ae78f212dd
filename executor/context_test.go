package executor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/retrier"
)

type ctxKey string

// A context kept from attempt 1 stays done once attempt 2 starts: it was
// reopened (Err nil, Done open) by the executor before v2.
func TestContextOfAnEarlierAttemptStaysDone(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		var first, firstChild context.Context
		var cancelChild context.CancelFunc
		attempt := 0
		_, err := Do(context.Background(), ex, "db", func(ctx context.Context) (int, error) {
			attempt++
			if attempt == 1 {
				first = ctx
				firstChild, cancelChild = context.WithCancel(ctx)
				return 0, errors.New("transient")
			}
			assert.Error(t, first.Err(), "attempt 1's context while attempt 2 runs")
			assert.ErrorIs(t, firstChild.Err(), context.Canceled, "a context derived in attempt 1")
			select {
			case <-first.Done():
			default:
				t.Error("attempt 1's Done is open again")
			}
			assert.NoError(t, ctx.Err(), "attempt 2's own context is live")
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			assert.NoError(t, child.Err(), "a context derived in attempt 2 is live")
			return 2, nil
		})
		require.NoError(t, err)
		cancelChild()
		assert.Equal(t, 2, attempt)
		assert.ErrorIs(t, first.Err(), context.Canceled)
	})
}

// A context kept after its job returned stays done, and shows nothing of
// the job that reuses its pooled slot.
func TestContextKeptAfterTheJobStaysItsOwn(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Pool = Pool{Workers: 1, Queue: 1}
		ex := start(t, WithDependency("db", p))
		var kept context.Context
		mine := context.WithValue(context.Background(), ctxKey("who"), "first")
		_, err := Do(mine, ex, "db", func(ctx context.Context) (int, error) { kept = ctx; return 1, nil })
		require.NoError(t, err)
		assert.ErrorIs(t, kept.Err(), context.Canceled, "done for ever after its job")

		theirs := context.WithValue(context.Background(), ctxKey("who"), "second")
		for range 3 { // the pool holds two jobs: the slot is reused
			_, err = Do(theirs, ex, "db", func(ctx context.Context) (int, error) {
				assert.NoError(t, ctx.Err())
				assert.ErrorIs(t, kept.Err(), context.Canceled, "the kept context while its slot runs another job")
				assert.Equal(t, "first", kept.Value(ctxKey("who")), "its own caller's values")
				assert.Equal(t, "second", ctx.Value(ctxKey("who")))
				return 2, nil
			})
			require.NoError(t, err)
		}
	})
}

func TestContextDeadlineIsTheAttemptsOrTheJobs(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.AttemptTimeout = time.Second
		ex := start(t, WithDependency("db", p), WithDependency("plain", fast()))
		t0 := time.Now()
		_, err := Do(context.Background(), ex, "db", func(ctx context.Context) (int, error) {
			dl, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.Equal(t, time.Second, dl.Sub(t0))
			return 0, nil
		})
		require.NoError(t, err)
		short, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err = Do(short, ex, "plain", func(ctx context.Context) (int, error) {
			dl, _ := ctx.Deadline()
			assert.Equal(t, 3*time.Second, dl.Sub(t0), "the caller's earlier deadline")
			return 0, nil
		})
		require.NoError(t, err)
	})
}

// The caller's cancellation returns its ctx.Err() at once and cancels
// the function's context with it; the breaker does not count it.
func TestCallerCancellation(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Breaker.FailureThreshold = 1
		ex := start(t, WithDependency("db", p))
		ctx, cancel := context.WithCancel(context.Background())
		running := make(chan struct{})
		fnErr := make(chan error, 1)
		go func() {
			<-running
			time.Sleep(time.Second)
			cancel()
		}()
		t0 := time.Now()
		_, err := Do(ctx, ex, "db", func(ctx context.Context) (int, error) {
			close(running)
			<-ctx.Done()
			fnErr <- ctx.Err()
			return 0, ctx.Err()
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, time.Second, time.Since(t0))
		assert.ErrorIs(t, <-fnErr, context.Canceled)
		st, _ := ex.Stats("db")
		assert.Equal(t, uint64(1), st.Cancelled)
		assert.Equal(t, Closed, st.State, "a caller's cancellation never trips the breaker")

		// A future's job ends with its context too.
		ctx2, cancel2 := context.WithCancel(context.Background())
		db, _ := ex.Dependency("db")
		f := Go(ctx2, db, func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
		time.Sleep(time.Second)
		cancel2()
		_, err = f.Wait(context.Background())
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// Nil contexts and functions are rejected with ErrInvalidJob; nothing
// panics.
func TestNilInputs(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ex := start(t, WithDependency("db", fast()))
		db, _ := ex.Dependency("db")
		fn := func(context.Context) (int, error) { return 1, nil }
		var nilCtx context.Context
		_, err := Do(nilCtx, ex, "db", fn)
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = Call(nilCtx, db, fn)
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = Call[int](context.Background(), db, nil)
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = Call(context.Background(), nil, fn)
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = Go(nilCtx, db, fn).Wait(context.Background())
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = Submit[int](context.Background(), ex, "db", nil).Wait(context.Background())
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = Wrap(db, fn)(nilCtx)
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = ex.ControlBreaker(nilCtx, "db", ResetBreaker)
		assert.ErrorIs(t, err, ErrInvalidJob)
		_, err = Do(context.Background(), ex, "nope", fn)
		assert.ErrorIs(t, err, ErrUnknownDependency)
	})
}

func parseDocument(context.Context) (string, error) { return "", errors.New("no") }

// Wrap names the operation after the wrapped function, as the original
// module's decorators did.
func TestWrapNamesTheOperation(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.AttemptTimeout = time.Second
		p.Retry = retrier.Policy{MaxAttempts: 1}
		ex := start(t, WithDependency("docs", p))
		docs, _ := ex.Dependency("docs")
		slow := func(ctx context.Context) (string, error) { <-ctx.Done(); return "", ctx.Err() }
		var te *TimeoutError
		_, err := Wrap(docs, slow, Operation("document_parsing"))(context.Background())
		require.ErrorAs(t, err, &te)
		assert.Equal(t, "document_parsing", te.Operation)
		_, err = Call(context.Background(), docs, slow)
		require.ErrorAs(t, err, &te)
		assert.Equal(t, "docs", te.Operation, "by default, the dependency")
		assert.Equal(t, "parseDocument", funcName(parseDocument))
	})
}
