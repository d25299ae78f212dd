package executor

import (
	"context"
	"sync"
	"sync/atomic"
)

// Future is the result of a job started with Go or Submit. Its methods
// are safe for concurrent use, by any number of waiters.
//
// Its channel is made only when someone waits before the result is
// ready, so a future collected after its job ended holds no channel.
type Future[T any] struct {
	mu    sync.Mutex
	done  chan struct{} // nil until Done or Wait needs it before the end
	ready atomic.Bool   // val and err are set
	val   T
	err   error
}

// complete sets the result once; later calls change nothing.
func (f *Future[T]) complete(v T, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ready.Load() {
		return
	}
	f.val, f.err = v, err
	f.ready.Store(true)
	if f.done == nil {
		f.done = closedChan
	} else {
		close(f.done)
	}
}

// Done is closed when the result is ready.
func (f *Future[T]) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil {
		f.done = make(chan struct{})
	}
	return f.done
}

// Wait returns the job's result once it is ready, or ctx.Err() if ctx
// ends first (the job goes on; cancel the context given to Go to end it).
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	if f.ready.Load() {
		return f.val, f.err
	}
	select {
	case <-f.Done():
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Result returns the result without waiting: ok is false while the job
// has not ended.
func (f *Future[T]) Result() (v T, ok bool, err error) {
	if f.ready.Load() {
		return f.val, true, f.err
	}
	return v, false, nil
}
