package executor

import (
	"context"
	"sync/atomic"
)

// Future is the result of a job started with Go or Submit. Its methods
// are safe for concurrent use, by any number of waiters.
type Future[T any] struct {
	done chan struct{}
	set  atomic.Bool
	val  T
	err  error
}

// complete sets the result once; later calls change nothing.
func (f *Future[T]) complete(v T, err error) {
	if f.set.Swap(true) {
		return
	}
	f.val, f.err = v, err
	close(f.done)
}

// Done is closed when the result is ready.
func (f *Future[T]) Done() <-chan struct{} { return f.done }

// Wait returns the job's result once it is ready, or ctx.Err() if ctx
// ends first (the job goes on; cancel the context given to Go to end it).
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, f.err
	default:
	}
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Result returns the result without waiting: ok is false while the job
// has not ended.
func (f *Future[T]) Result() (v T, ok bool, err error) {
	select {
	case <-f.done:
		return f.val, true, f.err
	default:
		return v, false, nil
	}
}
