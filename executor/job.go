package executor

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/messages"
)

// phase is where a job is in its life. The job's state word holds the
// phase, the attempt number and the job's generation, so that every
// transition is one compare-and-swap that names exactly the step it ends.
type phase uint8

const (
	phaseFree     phase = iota // in the dependency's free list
	phaseQueued                // in the job channel, waiting for a worker
	phaseRunning               // a worker runs attempt n
	phaseSettling              // the holder of an ended attempt is deciding what follows
	phaseBackoff               // waiting on the retrier's schedule
	phaseProbe                 // waiting for the breaker actor's probe permit
	phaseDone                  // ended; the result is set
)

// state packs generation (32 bits), attempt (16 bits), the phase a job
// ended from (8 bits, phaseDone only) and the phase (8 bits).
type state uint64

func mkState(gen uint32, attempt int, from, p phase) state {
	return state(uint64(gen)<<32 | uint64(uint16(attempt))<<16 | uint64(from)<<8 | uint64(p))
}

func (s state) gen() uint32     { return uint32(s >> 32) }
func (s state) attempt() int    { return int(uint16(s >> 16)) }
func (s state) from() phase     { return phase(s >> 8) }
func (s state) phase() phase    { return phase(s) }
func (s state) in(p phase) bool { return s.phase() == p }

// endedFrom reports whether s is the end of step (phase and attempt) of
// old, made by someone else: old's holder must then let the job go.
func (s state) endedFrom(old state) bool {
	return s.gen() == old.gen() && s.in(phaseDone) && s.from() == old.phase() && s.attempt() == old.attempt()
}

// A job is one call's life, pooled per dependency. Its fields are set at
// submission and then belong to whoever holds the job, as its state word
// says: the job channel, a worker, the retrier's schedule, the breaker's
// probe queue, or the holder of a settling attempt. end makes the single
// transition to done; it may be called by anyone (the caller cancelling,
// the watchdog at the deadline, shutdown), and the holder then lets the
// job go. A job goes back to the free list when both its caller and its
// holder have let it go, so no recycled job is ever seen by either.
type job struct {
	st    atomic.Uint64 // a state
	refs  atomic.Int32  // the caller and the holder
	due   atomic.Int64  // when the watchdog ends the current step; 0 when not watched
	dep   *dependency
	slot  int32
	nextF atomic.Int32 // next free slot plus one, in the free list

	// Set at submission.
	parent   context.Context
	op       string
	deadline int64                       // the job's deadline, on the dependency's clock
	budget   time.Duration               // from submission to the deadline
	res      result                      // the typed call and its value
	reply    chan struct{}               // capacity 1: the one signal of the job's end; made for the first waiting caller
	stopCtx  atomic.Pointer[func() bool] // stops the watch on parent, if any

	// The holder's.
	permit      breaker.Permit
	start       int64   // the attempt's start, on the dependency's clock
	worker      *worker // running the attempt
	workerToken uint64  // the worker's number for the attempt
	attemptDue  int64   // the attempt's deadline, on the dependency's clock
	prevDelay   time.Duration
	lastErr     error                    // the last attempt's error, for a retry the breaker refuses
	retry       atomic.Pointer[retryDue] // on the retrier's schedule, in phaseBackoff
	actx        atomic.Pointer[attemptCtx]

	// The result, written by end before it signals.
	err error

	// The flags, together so that they take one word.
	waiting  bool    // a caller waits on reply; set at submission
	probeOut bool    // permit is a probe permit not yet reported; the holder's
	out      outcome // the result's; written by end before it signals
}

// result is a job's typed part: the function, and its value once it
// returned. A job keeps the result of the type it last ran, to reuse it.
type result interface {
	// call publishes attempt s of j (held in from) as running, runs it
	// with ctx and, if the attempt is still the caller's when fn
	// returns, keeps the value: started and claimed say how far it got.
	call(j *job, from, s state, ctx context.Context) (started, claimed bool, err error)
	// complete hands the value to a future, if the job has one.
	complete(err error)
	// clear drops the function and the value, for the free list.
	clear()
}

// submitted is when the job was submitted, on the dependency's clock.
func (j *job) submitted() int64 { return j.deadline - int64(j.budget) }

func (j *job) load() state { return state(j.st.Load()) }

func (j *job) cas(old, next state) bool { return j.st.CompareAndSwap(uint64(old), uint64(next)) }

// move makes the transition from old to phase p (same generation), with
// attempt n; it reports false if the job is no longer in old.
func (j *job) move(old state, p phase, n int) bool {
	return j.cas(old, mkState(old.gen(), n, 0, p))
}

// end ends the job of generation gen with err, counted as o, unless it
// has ended already; it reports whether it did. The holder of the job
// then lets it go. A job being settled is waited for: its holder is
// deciding, without blocking, what follows the attempt.
func (j *job) end(gen uint32, err error, o outcome) bool {
	for {
		s := j.load()
		if s.gen() != gen || s.in(phaseDone) || s.in(phaseFree) {
			return false
		}
		if s.in(phaseSettling) {
			runtime.Gosched()
			continue
		}
		var retry *retryDue // read while the job is surely this one
		if s.in(phaseBackoff) {
			retry = j.retry.Load()
		}
		if j.cas(s, mkState(gen, s.attempt(), s.phase(), phaseDone)) {
			if !s.in(phaseRunning) {
				// A running attempt's function may ignore its context:
				// the watchdog keeps an eye on it until it returns.
				j.due.Store(0)
			}
			j.finish(err, o, -1)
			if retry != nil {
				// The retrier lets it go now rather than at its time.
				j.dep.retrier.Expedite(retry)
			}
			return true
		}
	}
}

// settle ends a job its caller holds in phaseSettling: the holder's final
// verdict. The holder lets it go after.
func (j *job) settle(s state, err error, o outcome, now int64) {
	if j.cas(s, mkState(s.gen(), s.attempt(), phaseSettling, phaseDone)) {
		j.due.Store(0)
		j.finish(err, o, now)
	}
}

// finish records the result, counts it and signals the caller. It runs
// once per job, right after the transition to done, which happened at
// now on the dependency's clock (-1: not read yet).
func (j *job) finish(err error, o outcome, now int64) {
	j.err, j.out = err, o
	if a := j.actx.Load(); a != nil {
		a.cancel(context.Canceled)
	}
	d := j.dep
	d.counts[o].Add(1)
	if d.ex.tracer != nil {
		j.traceEnd(j.load().attempt(), err, o)
	}
	// Every job's duration goes to the latency histogram (made with the
	// pool, which every admitted job has started); the metrics' copy is
	// recorded once the caller has its result, from what is read of j
	// before: j may be recycled from then on.
	if now < 0 {
		now = d.monoNow()
	}
	dur := time.Duration(now - j.submitted())
	if lat := d.latency.Load(); lat != nil {
		lat.add(dur)
	}
	var rec measurement
	if m := d.ex.meters; m != nil && m.durationOn(j.parent) {
		rec = m.measure(j, o, dur)
	}
	if d.events.wantsJobEnd(j.parent, err) {
		d.events.jobEnded(d, j, j.load().attempt(), dur, err, o)
	}
	j.stopWatch()
	if j.waiting {
		j.reply <- struct{}{} // never blocks: one signal per use
		rec.record()
		return
	}
	j.res.complete(err)
	j.release() // the future has its copy: the caller's part is done
	rec.record()
}

// release lets go of one reference; the last one returns the job to its
// dependency's free list.
func (j *job) release() {
	if j.refs.Add(-1) != 0 {
		return
	}
	if j.probeOut {
		// A probe that ended without a report (cancelled, timed out
		// while queued, shut down) gives its permit back.
		j.dep.breaker.Report(j.permit, messages.Ignored, 0)
		j.probeOut = false
	}
	s := j.load()
	j.stopWatch()
	j.parent, j.err, j.lastErr = nil, nil, nil
	j.retry.Store(nil)
	j.actx.Store(nil)
	j.due.Store(0)
	if j.res != nil { // nil on a slot taken and given back at once
		j.res.clear()
	}
	j.st.Store(uint64(mkState(s.gen()+1, 0, 0, phaseFree)))
	j.dep.slots.put(j)
}

// stopWatch stops the watch on the caller's context, once.
func (j *job) stopWatch() {
	if p := j.stopCtx.Swap(nil); p != nil {
		(*p)()
	}
}

// tryRef takes a reference on a job that some holder still has.
func (j *job) tryRef() bool {
	for {
		n := j.refs.Load()
		if n <= 0 {
			return false
		}
		if j.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// cancelBy ends the job when its caller's context ends first: with the
// context's error when the caller cancelled it, and as a timeout when its
// deadline (the job's) passed.
// The job's fields are read under a reference of its own, for the
// callback of a future's context may run as the job is recycled.
func (j *job) cancelBy(gen uint32, ctx context.Context) {
	if !j.tryRef() {
		return
	}
	defer j.release()
	if j.load().gen() != gen {
		return
	}
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		j.end(gen, j.dep.jobTimeout(j), outTimedOut)
		return
	}
	j.end(gen, err, outCancelled)
}

// attemptCtx is the context one attempt's function runs with. Each
// attempt gets its own, so a context kept from an earlier attempt, or
// from a job since recycled, stays done for ever. Values come from the
// caller's context; cancellation comes from the job (end, the watchdog,
// the attempt's end), which cancels the current attempt's context.
type attemptCtx struct {
	parent   context.Context
	deadline time.Time

	mu     sync.Mutex
	err    error
	done   chan struct{} // made on first use
	afters []*afterFunc
}

func newAttemptCtx(parent context.Context, deadline time.Time) *attemptCtx {
	return &attemptCtx{parent: parent, deadline: deadline}
}

// Deadline implements context.Context: the earlier of the attempt's and
// the job's deadlines.
func (c *attemptCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Value implements context.Context.
func (c *attemptCtx) Value(key any) any { return c.parent.Value(key) }

// Err implements context.Context.
func (c *attemptCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Done implements context.Context.
func (c *attemptCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedChan
		}
		c.done = make(chan struct{})
	}
	return c.done
}

// AfterFunc lets context.WithCancel and context.AfterFunc hook onto the
// attempt without a goroutine each (the context package looks for it).
func (c *attemptCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f, c: c}
	c.afters = append(c.afters, a)
	return a.stop
}

// cancel ends the context with err (context.Canceled or
// context.DeadlineExceeded); later calls change nothing.
func (c *attemptCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, a := range afters {
		go a.f()
	}
}

func (c *attemptCtx) String() string { return "warden.attemptContext" }

type afterFunc struct {
	f func()
	c *attemptCtx
}

func (a *afterFunc) stop() bool {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.afters {
		if x == a {
			c.afters = append(c.afters[:i], c.afters[i+1:]...)
			return true
		}
	}
	return false
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()
