package executor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-go/warden/messages"
)

// Future is the pending result of a job submitted with Submit. Exactly one
// result is ever recorded. Its methods are safe for concurrent use.
type Future struct {
	state atomic.Uint32
	val   any
	err   error

	mu   sync.Mutex    // guards done
	done chan struct{} // made by the first Done, closed on completion
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

// Done is closed once the result is recorded. The channel is made on the
// first call, so a job that nobody waits on yet holds none.
func (f *Future) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil {
		if f.state.Load() == completed {
			return closedDone
		}
		f.done = make(chan struct{})
	}
	return f.done
}

// signal closes the Done channel, if one was made, after completion.
func (f *Future) signal() {
	f.mu.Lock()
	if f.done != nil {
		close(f.done)
	}
	f.mu.Unlock()
}

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
	if f.state.Load() == completed {
		return f.val, f.err
	}
	select {
	case <-f.Done():
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

// job is one submitted call travelling through a dependency, and the
// context its function runs with (see jobctx.go). It is owned by one
// place at a time (the queue and a worker, the retrier, the probe waiting
// list), and that owner releases its admission slot when it lets go of a
// finished job. A job never enters an actor's mailbox.
type job struct {
	f   Future
	dep *dependency

	// fn runs the caller's function with its own result type; it is the
	// typedJob that holds this job, so Do needs no wrapping closure.
	fn runner

	parent    context.Context // the caller's: values, cancellation
	budget    time.Duration   // from submission to deadline
	deadline  time.Time
	attempt   int
	prevDelay time.Duration
	permit    messages.Permit

	dlSlot int // its index in the dependency's deadlines plus one, 0 if not there

	mu           sync.Mutex
	deadlineT    *jobTimer
	attemptT     *jobTimer
	stopParent   func() bool
	ended        error // why the job's context ended for good, or nil
	actxErr      error // why the current attempt's context ended, or nil
	actxDone     chan struct{}
	actxDeadline time.Time
	afters       map[*afterFunc]struct{}
}

// runner calls a job's function.
type runner interface{ run(*job) (any, error) }

// typedJob holds a job and its function, in one allocation.
type typedJob[T any] struct {
	job
	call func(context.Context) (T, error)
}

func (t *typedJob[T]) run(j *job) (any, error) { return t.call(j) }

// newJob allocates a job for fn.
func newJob[T any](fn func(context.Context) (T, error)) *job {
	t := &typedJob[T]{call: fn}
	t.job.fn = t
	return &t.job
}

// finish records the job's result and counts its outcome, once, then
// stops its timers and ends its context. It never releases the admission
// slot, which is the owner's to do.
func (j *job) finish(v any, err error, o outcome) bool {
	f := &j.f
	if !f.state.CompareAndSwap(pending, completing) {
		return false
	}
	// Count first, so that a caller who has its result sees it counted.
	j.dep.counts[o].Add(1)
	f.val, f.err = v, err
	f.state.Store(completed)
	f.signal()

	j.mu.Lock()
	dt, at, stop := j.deadlineT, j.attemptT, j.stopParent
	j.deadlineT, j.attemptT, j.stopParent = nil, nil, nil
	j.endAttemptLocked(context.Canceled)
	j.mu.Unlock()
	ts := &j.dep.ex.jobTimers
	j.dep.deadlines.remove(j)
	ts.disarm(dt)
	ts.disarm(at)
	if stop != nil {
		stop()
	}
	return true
}

// expired finishes a job whose context ended for good: with a
// *TimeoutError at its deadline, with the caller's error when the caller
// cancelled. A retry still waiting on its timer is withdrawn at once.
func (j *job) expired() {
	if j.finishEnded() && j.dep.retrier.Cancel(j) {
		j.dep.release()
	}
}

// finishEnded finishes a job whose context ended for good, and reports
// whether this call finished it. Unlike expired it never calls into the
// retrier, so the retrier's hand-over may use it under its lock.
func (j *job) finishEnded() bool {
	if err := j.endedBy(); err != context.DeadlineExceeded {
		return j.finish(nil, err, outCancelled)
	}
	return j.finish(nil, j.dep.timeoutError(j.budget), outTimedOut)
}
