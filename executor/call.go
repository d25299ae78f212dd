package executor

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/messages"
)

// A CallOption adjusts one call.
type CallOption struct{ op string }

// Operation names the call's operation in its *TimeoutError and its log
// records; by default it is the dependency's name (or, for Wrap, the
// wrapped function's).
func Operation(name string) CallOption { return CallOption{op: name} }

// Do runs fn as a job of the named dependency and waits for its result.
// It is Call after a lookup of the name; hold a *Dependency to skip it.
func Do[T any](ctx context.Context, ex *Executor, dependency string, fn func(context.Context) (T, error), opts ...CallOption) (T, error) {
	d, err := ex.lookup(dependency)
	if err != nil {
		var zero T
		return zero, err
	}
	return Call(ctx, &d.handle, fn, opts...)
}

// Call runs fn as a job of dependency d and waits for its result: the
// value, or the job's error (see the package doc). Errors known at once
// (ErrInvalidJob, ErrShutdown, ErrDependencyDown, ErrRejected, an open
// circuit, a context already done) come back without running fn. When
// the caller cancels ctx first, Call returns ctx.Err() at once and the
// job's context is cancelled; ctx's deadline is the job's deadline, which
// ends it with a *TimeoutError (matching context.DeadlineExceeded).
func Call[T any](ctx context.Context, d *Dependency, fn func(context.Context) (T, error), opts ...CallOption) (T, error) {
	var zero T
	if ctx == nil || fn == nil || d == nil {
		return zero, invalidJob(d)
	}
	j, err := d.d.submit(ctx, opts, true, func(j *job) result { return typedFor(j, fn, nil) })
	if err != nil {
		return zero, err
	}
	if done := ctx.Done(); done == nil {
		<-j.reply
	} else {
		select {
		case <-j.reply:
		case <-done:
			j.cancelBy(j.load().gen(), ctx)
			<-j.reply
		}
	}
	r := j.res.(*typed[T])
	v, err := r.val, j.err
	j.release()
	if err != nil {
		return zero, err
	}
	return v, nil
}

// Wrap returns fn protected by d, as the original module's decorators
// did: wrap once, call many times. The operation is named after fn (its
// function name without the package), unless Operation says otherwise.
func Wrap[T any](d *Dependency, fn func(context.Context) (T, error), opts ...CallOption) func(context.Context) (T, error) {
	opts = append([]CallOption{Operation(funcName(fn))}, opts...)
	return func(ctx context.Context) (T, error) { return Call(ctx, d, fn, opts...) }
}

// Go starts fn as a job of d and returns its Future at once; it never
// blocks. Errors known at once complete the Future immediately. When ctx
// ends before the job, the job ends with ctx.Err().
func Go[T any](ctx context.Context, d *Dependency, fn func(context.Context) (T, error), opts ...CallOption) *Future[T] {
	f := new(Future[T])
	if ctx == nil || fn == nil || d == nil {
		f.complete(*new(T), invalidJob(d))
		return f
	}
	_, err := d.d.submit(ctx, opts, false, func(j *job) result { return typedFor(j, fn, f) })
	if err != nil {
		f.complete(*new(T), err)
	}
	return f
}

// Submit is Go for the named dependency.
func Submit[T any](ctx context.Context, ex *Executor, dependency string, fn func(context.Context) (T, error), opts ...CallOption) *Future[T] {
	d, err := ex.lookup(dependency)
	if err != nil {
		f := new(Future[T])
		f.complete(*new(T), err)
		return f
	}
	return Go(ctx, &d.handle, fn, opts...)
}

func invalidJob(d *Dependency) error {
	if d == nil {
		return fmt.Errorf("%w: nil dependency", messages.ErrInvalidJob)
	}
	return fmt.Errorf("%w: nil context or function for %q", messages.ErrInvalidJob, d.d.name)
}

// typed is a job's typed part for functions returning T.
type typed[T any] struct {
	fn  func(context.Context) (T, error)
	val T
	fut *Future[T]
}

// typedFor reuses j's typed part when it is for T, or makes one.
func typedFor[T any](j *job, fn func(context.Context) (T, error), f *Future[T]) result {
	r, ok := j.res.(*typed[T])
	if !ok {
		r = new(typed[T])
	}
	r.fn, r.fut = fn, f
	return r
}

func (r *typed[T]) call(j *job, from, s state, ctx context.Context) (started, claimed bool, err error) {
	fn := r.fn
	if !j.begin(from, s) {
		return false, false, nil
	}
	v, err := fn(ctx)
	if !j.claim(s, context.Canceled) {
		return true, false, err
	}
	r.val = v
	return true, true, err
}

func (r *typed[T]) complete(err error) {
	if r.fut != nil {
		var v T
		if err == nil {
			v = r.val
		}
		r.fut.complete(v, err)
	}
}

func (r *typed[T]) clear() {
	var zero T
	r.fn, r.fut, r.val = nil, nil, zero
}

// funcName is fn's name without its package path: "parseDocument" for
// main.parseDocument.
func funcName(fn any) string {
	rf := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
	if rf == nil {
		return ""
	}
	name := rf.Name()
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.Index(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// submit admits a call and launches its job, or says at once why not.
// wait says the caller waits on the job's reply channel.
func (d *dependency) submit(ctx context.Context, opts []CallOption, wait bool, typedRes func(*job) result) (*job, error) {
	if err := ctx.Err(); err != nil {
		d.submitted.Add(1)
		d.counts[outCancelled].Add(1)
		return nil, err
	}
	if err := d.closedErr(); err != nil {
		d.submitted.Add(1)
		d.counts[outRejected].Add(1)
		d.traceTurnedAway(ctx, opts, err)
		return nil, err
	}
	v := d.breaker.View()
	if c := d.rejectCache.Load(); c != nil && c.view == v {
		// The breaker's verdict on this view may still hold. Far from
		// the end of the open period the clock is not read, but one call
		// in 64 on each stripe of shed reads it: the end is seen by the
		// period's timer, or by those calls should the timer be late.
		n := d.shed.add(1)
		if (!c.exact.Load() && n%64 != 0) || d.monoNow() < c.until {
			if d.events.q != nil {
				d.events.rejected(d, c.err)
			}
			if d.ex.tracer != nil {
				d.traceTurnedAway(ctx, opts, c.err)
			}
			return nil, c.err
		}
		d.shed.add(^uint64(0)) // not rejected after all
	}
	mono := d.monoNow()
	var now time.Time // on the dependency's clock: only Admit needs it as a time.Time
	if !v.AdmitsAll() {
		now = d.epoch.Add(time.Duration(mono))
	}
	a := v.Admit(now)
	if a.Verdict == breaker.Rejected {
		// Counted once, in shed alone, which stands for both a
		// submission and a short circuit.
		d.shed.add(1)
		err := d.rejection(v, a, now)
		d.events.rejected(d, err)
		d.traceTurnedAway(ctx, opts, err)
		return nil, err
	}
	j := d.slots.take()
	d.submitted.Add(1)
	if j == nil || d.stuck.Load() > int64(d.policy.Pool.Workers) {
		if j != nil {
			j.refs.Store(1)
			j.release()
		}
		d.counts[outRejected].Add(1)
		d.events.rejected(d, messages.ErrRejected)
		d.traceTurnedAway(ctx, opts, messages.ErrRejected)
		return nil, messages.ErrRejected
	}

	deadline := after(mono, d.policy.Timeout)
	if dl, ok := ctx.Deadline(); ok {
		deadline = min(deadline, d.mono(dl))
	}
	s := j.load()
	j.op = d.opName(opts)
	if d.ex.tracer != nil {
		ctx = d.startSpan(ctx, j.op)
	}
	j.parent, j.waiting = ctx, wait
	if wait && j.reply == nil {
		j.reply = make(chan struct{}, 1) // kept with the job, for its next waiting caller
	}
	j.deadline, j.budget = deadline, time.Duration(deadline-mono)
	j.res = typedRes(j)
	j.permit, j.prevDelay, j.probeOut = a.Permit, 0, false
	j.refs.Store(2) // the caller and the holder
	first := phaseQueued
	if a.Verdict == breaker.ProbeNeeded {
		first = phaseProbe
	}
	j.st.Store(uint64(mkState(s.gen(), 0, 0, first)))
	if !wait && ctx.Done() != nil {
		gen := s.gen()
		stop := context.AfterFunc(ctx, func() { j.cancelBy(gen, ctx) })
		j.stopCtx.Store(&stop)
		if now := j.load(); now.gen() != gen || now.in(phaseDone) {
			j.stopWatch() // it ended meanwhile, before the watch was stored
		}
	}
	if !d.poolUp.Load() {
		d.startPool()
	}
	d.watch(j, j.deadline)
	if err := d.closedErr(); err != nil { // lost a race with close
		j.end(s.gen(), err, outFailed)
		j.release()
		return j, nil
	}
	if first == phaseProbe {
		d.requestProbe(j, j.load())
		return j, nil
	}
	d.queue <- j // never blocks: see the queue's comment
	return j, nil
}

// opName is the operation of a call with opts: the last one named, or
// the dependency's name.
func (d *dependency) opName(opts []CallOption) string {
	op := d.name
	for _, o := range opts {
		if o.op != "" {
			op = o.op
		}
	}
	return op
}

// rejection is the error for a call the breaker turns away, kept for the
// calls that follow: while the view is the same, its verdict holds until
// Admission.Until, and they share the error (its RetryAfter reads the
// clock), so rejecting allocates nothing. An open period gets one timer,
// which marks the entry exact shortly before the period ends; until then
// submit rejects from the entry without reading the clock.
func (d *dependency) rejection(v *breaker.View, a breaker.Admission, now time.Time) *messages.CircuitOpenError {
	old := d.rejectCache.Load()
	if old != nil && old.view == v {
		return old.err
	}
	c := &rejection{view: v, until: math.MaxInt64, err: v.OpenError(a)}
	if !a.Until.IsZero() {
		c.until = d.mono(a.Until)
		if left := time.Duration(c.until - d.mono(now)); left > exactWindow {
			c.timer = time.AfterFunc(left-exactWindow, func() { c.exact.Store(true) })
		} else {
			c.exact.Store(true)
		}
	}
	if !d.rejectCache.CompareAndSwap(old, c) {
		c.stop() // another caller's entry stands
		return c.err
	}
	old.stop()
	return c.err
}

// exactWindow is how long before the end of an open period the rejection
// cache goes back to reading the clock on every call, so a timer late by
// less than this changes nothing.
const exactWindow = 5 * time.Millisecond

type rejection struct {
	view  *breaker.View
	until int64 // on the dependency's clock: when the verdict stops holding
	err   *messages.CircuitOpenError
	exact atomic.Bool // near until: compare with the clock on every call
	timer *time.Timer // sets exact; nil when exact from the start or no end
}

// stop stops the entry's timer, if any; c may be nil.
func (c *rejection) stop() {
	if c != nil && c.timer != nil {
		c.timer.Stop()
	}
}
