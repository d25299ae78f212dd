package executor

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/warden-go/warden/messages"
)

// Future is the pending result of a job submitted with Submit. Exactly one
// result is ever recorded. Its methods are safe for concurrent use.
type Future struct {
	done  chan struct{}
	state atomic.Uint32
	val   any
	err   error
}

const (
	pending uint32 = iota
	completing
	completed
)

// closedDone is shared by futures completed before they are returned.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// failed returns a Future already completed with err.
func failed(err error) *Future {
	f := &Future{done: closedDone, err: err}
	f.state.Store(completed)
	return f
}

// Done is closed once the result is recorded.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result returns the value and error, and ok false while the job is still
// pending.
func (f *Future) Result() (v any, err error, ok bool) {
	if f.state.Load() != completed {
		return nil, nil, false
	}
	return f.val, f.err, true
}

// Wait blocks until the result is recorded or ctx is done. When ctx ends
// first it returns ctx.Err() and the job goes on; the job itself is
// cancelled only by the context it was submitted with.
func (f *Future) Wait(ctx context.Context) (any, error) {
	select {
	case <-f.done:
		return f.val, f.err
	default:
	}
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *Future) isDone() bool { return f.state.Load() != pending }

// outcome is how a job ended, for the per-dependency counters.
type outcome uint8

const (
	outSucceeded outcome = iota
	outFailed
	outTimedOut
	outShortCircuited
	outRejected
	outCancelled
	outPanicked
	numOutcomes
)

// job is one submitted call travelling through a dependency. It is owned
// by one place at a time (the queue and a worker, the retrier, the probe
// waiting list), and that owner releases its admission slot when it lets
// go of a finished job.
type job struct {
	f   Future
	dep *dependency
	fn  func(context.Context) (any, error)

	// ctx is the caller's context bounded by the job's deadline. A job is
	// not a message: it never enters an actor's mailbox, and it carries
	// the caller's context so values such as trace spans reach fn.
	ctx       context.Context
	cancel    context.CancelFunc
	stopAfter func() bool

	submitted time.Time
	deadline  time.Time
	attempt   int
	prevDelay time.Duration
	permit    messages.Permit
}

// finish records the job's result and counts its outcome, once. It
// releases the job's context resources; it never releases the admission
// slot, which is the owner's to do.
func (j *job) finish(v any, err error, o outcome) bool {
	return j.end(v, err, o, true)
}

// end is finish; stop says whether to unregister the context callback,
// which the callback itself must not do (it may run before Submit has
// stored the function that stops it).
func (j *job) end(v any, err error, o outcome, stop bool) bool {
	f := &j.f
	if !f.state.CompareAndSwap(pending, completing) {
		return false
	}
	// Count first, so that a caller who has its result sees it counted.
	j.dep.counts[o].Add(1)
	f.val, f.err = v, err
	f.state.Store(completed)
	close(f.done)
	if stop {
		j.stopAfter()
	}
	j.cancel()
	return true
}

// expire finishes a job whose context ended: the caller cancelled it, or
// its deadline passed.
func (j *job) expire() bool { return j.expireVia(true) }

func (j *job) expireVia(stop bool) bool {
	if j.ctx.Err() == context.Canceled {
		return j.end(nil, context.Canceled, outCancelled, stop)
	}
	return j.end(nil, j.dep.timeoutError(j.deadline.Sub(j.submitted)), outTimedOut, stop)
}
