package executor

import (
	"context"
	"math"
	"sync"
	"time"
)

// A job is the context its function runs with. It costs no allocation
// and no goroutine unless the function asks for Done, derives a context or
// the caller's context can be cancelled: its Done channel is made on first
// use, and its deadline and attempt timers come from a pool.
//
// The context's life follows the job's current attempt: it ends with
// context.DeadlineExceeded at the attempt's deadline (the earlier of the
// attempt timeout and the job's deadline), with the caller's ctx.Err()
// when the caller cancels, and with context.Canceled when the job ends.
// Attempts never overlap: the next one starts only after the function
// returned, and then the context lives again with a fresh Done channel.

// Deadline implements context.Context.
func (j *job) Deadline() (time.Time, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.actxDeadline, true
}

// Done implements context.Context.
func (j *job) Done() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.actxDone == nil {
		j.actxDone = make(chan struct{})
		if j.actxErr != nil {
			close(j.actxDone)
		}
	}
	return j.actxDone
}

// Err implements context.Context.
func (j *job) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.actxErr
}

// Value implements context.Context: values come from the caller's context.
func (j *job) Value(key any) any { return j.parent.Value(key) }

// AfterFunc lets context.WithCancel and friends hook child contexts to the
// job without a goroutine each (the context package looks for it).
func (j *job) AfterFunc(f func()) (stop func() bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.actxErr != nil {
		go f()
		return func() bool { return false }
	}
	e := &afterFunc{f: f}
	if j.afters == nil {
		j.afters = map[*afterFunc]struct{}{}
	}
	j.afters[e] = struct{}{}
	return func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		_, ok := j.afters[e]
		delete(j.afters, e)
		return ok
	}
}

type afterFunc struct{ f func() }

// String names the context, as the context package's own types do.
func (j *job) String() string { return "warden job for " + j.dep.name }

// endAttempt ends the current attempt's context with err, once, and
// returns the error it ended with (an earlier one if it had ended).
func (j *job) endAttempt(err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.endAttemptLocked(err)
}

// closeAttempt ends the current attempt's context with context.Canceled,
// as a per-attempt context's cancel would, and returns the error it ended
// with and why the job's context ended, or nil: both under one lock.
func (j *job) closeAttempt() (attemptErr, ended error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.endAttemptLocked(context.Canceled), j.ended
}

func (j *job) endAttemptLocked(err error) error {
	if j.actxErr != nil {
		return j.actxErr
	}
	j.actxErr = err
	if j.actxDone != nil {
		close(j.actxDone)
	}
	for e := range j.afters {
		go e.f()
	}
	j.afters = nil
	return err
}

// startAttempt gives the next attempt a live context with deadline dl. It
// reports false if the job's context has ended for good.
func (j *job) startAttempt(dl time.Time) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ended != nil {
		return false
	}
	j.actxErr, j.actxDone, j.afters = nil, nil, nil
	j.actxDeadline = dl
	return true
}

// endJob ends the job's context for good: the deadline passed
// (context.DeadlineExceeded) or the caller cancelled (its ctx.Err()). It
// reports false if it had already ended.
func (j *job) endJob(err error) bool {
	j.mu.Lock()
	if j.ended != nil {
		j.mu.Unlock()
		return false
	}
	j.ended = err
	j.mu.Unlock()
	j.endAttempt(err)
	return true
}

// endedBy returns why the job's context ended, or nil.
func (j *job) endedBy() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ended
}

// timerPool is a pool of stopped timers, one per executor (a timer belongs to
// the goroutine bubble that made it, so pools are never shared).
type timerPool struct{ pool sync.Pool }

// jobTimer calls its job back when it fires. It is reused only after a
// successful Stop, so a callback never sees the next job.
type jobTimer struct {
	t       *time.Timer
	j       *job
	attempt bool
}

func (jt *jobTimer) fire() {
	if jt.attempt {
		jt.j.onAttemptDeadline()
	} else {
		jt.j.onDeadline()
	}
}

func (ts *timerPool) arm(j *job, d time.Duration, attempt bool) *jobTimer {
	jt, _ := ts.pool.Get().(*jobTimer)
	if jt == nil {
		jt = &jobTimer{}
		jt.t = time.AfterFunc(math.MaxInt64, jt.fire)
		jt.t.Stop()
	}
	jt.j, jt.attempt = j, attempt
	jt.t.Reset(d)
	return jt
}

// disarm stops jt; a timer that already fired is left to the collector.
func (ts *timerPool) disarm(jt *jobTimer) {
	if jt != nil && jt.t.Stop() {
		jt.j = nil
		ts.pool.Put(jt)
	}
}

// onDeadline runs when the job's deadline passes.
func (j *job) onDeadline() {
	if j.endJob(context.DeadlineExceeded) {
		j.expired()
	}
}

// onParentDone runs when the caller's context ends.
func (j *job) onParentDone() {
	err := j.parent.Err()
	if err == context.DeadlineExceeded {
		// The caller's deadline was the job's deadline.
		j.onDeadline()
		return
	}
	if j.endJob(err) {
		j.expired()
	}
}

// onAttemptDeadline ends the current attempt's context.
func (j *job) onAttemptDeadline() { j.endAttempt(context.DeadlineExceeded) }
