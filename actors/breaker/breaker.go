package breaker

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/warden-go/warden/messages"
)

// Breaker is a standalone circuit breaker for callers who want one without
// an executor: a Machine behind a mutex, read against a clock. Create one
// with New; it starts no goroutine and needs no closing. A Breaker is safe
// for concurrent use, and never runs a caller's function or callback while
// holding its lock.
type Breaker struct {
	name         string
	clock        func() time.Time
	ownClock     bool // clock is not time.Now: see CircuitOpenError.Until
	onTransition func(Transition)

	mu sync.Mutex
	m  *Machine
	// pending holds changes of state not yet handed to onTransition,
	// oldest first; delivering says that a call is handing them over.
	pending    []Transition
	delivering bool
}

// An Option configures a Breaker.
type Option interface {
	apply(*options)
}

type options struct {
	clock        func() time.Time
	ownClock     bool
	seed         uint64
	seeded       bool
	onTransition func(Transition)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithClock makes the breaker read the time from now instead of time.Now,
// so tests can move time by hand. now must be safe for concurrent use if
// the breaker is used concurrently. A nil now keeps time.Now. The Until of
// a rejection's error stays on the real clock: the open period left on
// now's clock, from time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) {
		if now != nil {
			o.clock, o.ownClock = now, true
		}
	})
}

// WithSeed sets the seed of the open-period jitter. Without it the seed is
// a hash of the breaker's name, so breakers of different names do not
// probe in step and a breaker's periods are the same from run to run.
func WithSeed(seed uint64) Option {
	return optionFunc(func(o *options) { o.seed, o.seeded = seed, true })
}

// WithOnTransition calls fn after each change of state, in the order the
// changes happened, one call at a time and never while the breaker's lock
// is held, so fn may call the breaker's methods. fn runs on the goroutine
// of a call that changed the state, or of a later one; a panic in fn goes
// up that call and leaves the breaker usable.
func WithOnTransition(fn func(Transition)) Option {
	return optionFunc(func(o *options) { o.onTransition = fn })
}

// New returns a CLOSED breaker named name, for use in errors. An invalid
// policy returns an error matching messages.ErrInvalidPolicy that names
// every bad field.
func New(name string, p Policy, opts ...Option) (*Breaker, error) {
	o := options{clock: time.Now}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if !o.seeded {
		h := fnv.New64a()
		h.Write([]byte(name))
		o.seed = h.Sum64()
	}
	m, err := NewMachine(p, o.seed)
	if err != nil {
		return nil, err
	}
	return &Breaker{name: name, clock: o.clock, ownClock: o.ownClock, onTransition: o.onTransition, m: m}, nil
}

// Name returns the name given to New.
func (b *Breaker) Name() string { return b.name }

// Execute runs fn if the breaker admits the call, and reports fn's error
// and elapsed time as its outcome. It returns fn's error, or without
// running fn: a *messages.CircuitOpenError (matching messages.ErrCircuitOpen)
// when the breaker rejects the call, ctx.Err() when ctx is already done, or
// an error matching messages.ErrInvalidJob when ctx or fn is nil. A panic in
// fn is reported as a failure and continues up to the caller.
func (b *Breaker) Execute(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil || fn == nil {
		return fmt.Errorf("%w: nil context or function for %q", messages.ErrInvalidJob, b.name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.Allow()
	if err != nil {
		return err
	}
	start := b.clock()
	returned := false
	defer func() {
		// Not recovered, so the panic keeps its stack; runtime.Goexit in
		// fn lands here too.
		if !returned {
			b.report(p, messages.Failure, b.clock().Sub(start))
		}
	}()
	err = fn(ctx)
	returned = true
	b.Done(p, err, b.clock().Sub(start))
	return err
}

// Run is Execute for a function that returns a value. It returns fn's value
// and error, or the zero T with one of the errors Execute returns without
// running fn.
func Run[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (T, error) {
	var v T
	if fn == nil {
		return v, fmt.Errorf("%w: nil function for %q", messages.ErrInvalidJob, b.name)
	}
	err := b.Execute(ctx, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}

// Allow asks to make one call, for callers that run the call themselves.
// A nil error grants a Permit, which must be handed to Done with the
// call's outcome; a HALF_OPEN probe permit not handed back within the
// policy's MaxHalfOpenWait counts as failed. A rejected call gets a
// *messages.CircuitOpenError, matching messages.ErrCircuitOpen.
func (b *Breaker) Allow() (Permit, error) {
	now := b.clock()
	b.mu.Lock()
	d := b.m.Allow(now)
	var rejected *messages.CircuitOpenError
	if !d.Allowed {
		s := b.m.Snapshot(now)
		rejected = &messages.CircuitOpenError{Name: b.name, FailureCount: s.TripFailures,
			LastFailure: s.LastFailure}
		if d.RetryAfter > 0 {
			rejected.Until = now.Add(d.RetryAfter)
			if b.ownClock {
				rejected.Until = time.Now().Add(d.RetryAfter) // Until is on the real clock
			}
		}
	}
	handed := false
	if d.Permit.Probe {
		defer func() {
			if !handed { // onTransition panicked: free the probe slot
				b.report(d.Permit, messages.Ignored, 0)
			}
		}()
	}
	b.unlock(d.Transition)
	handed = true
	if rejected != nil {
		return Permit{}, rejected
	}
	return d.Permit, nil
}

// Done reports the outcome of a call admitted by Allow: err is the call's
// error, classified by the policy, and elapsed its duration. A permit
// granted before a later change of state or Reset, or one already
// reported, changes nothing.
func (b *Breaker) Done(p Permit, err error, elapsed time.Duration) {
	now := b.clock()
	b.mu.Lock()
	b.unlock(b.m.Report(now, p, err, elapsed))
}

func (b *Breaker) report(p Permit, o messages.Outcome, elapsed time.Duration) {
	now := b.clock()
	b.mu.Lock()
	b.unlock(b.m.ReportOutcome(now, p, o, elapsed))
}

// State returns the state as of now: an OPEN breaker whose open period is
// over reports HALF_OPEN, as the next call would find it.
func (b *Breaker) State() messages.State {
	now := b.clock()
	b.mu.Lock()
	t := b.m.Tick(now)
	s := b.m.State()
	b.unlock(t)
	return s
}

// Snapshot returns the state and counts as of now, after the same
// time-driven transitions as State.
func (b *Breaker) Snapshot() Snapshot {
	now := b.clock()
	b.mu.Lock()
	t := b.m.Tick(now)
	s := b.m.Snapshot(now)
	b.unlock(t)
	return s
}

// ForceOpen holds the breaker open, rejecting every call, until Reset.
func (b *Breaker) ForceOpen() { b.control((*Machine).ForceOpen) }

// Disable admits every call and keeps counting, but never trips, until
// Reset.
func (b *Breaker) Disable() { b.control((*Machine).Disable) }

// Reset closes the breaker and clears its window and failure run. Permits
// granted before it change nothing when reported.
func (b *Breaker) Reset() { b.control((*Machine).Reset) }

func (b *Breaker) control(op func(*Machine, time.Time) Transition) {
	now := b.clock()
	b.mu.Lock()
	b.unlock(op(b.m, now))
}

// unlock queues t for onTransition if it changed the state, releases the
// lock and, unless another call is already at it, delivers the queue.
func (b *Breaker) unlock(t Transition) {
	if t.Changed() && b.onTransition != nil {
		b.pending = append(b.pending, t)
	}
	if b.delivering || len(b.pending) == 0 {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	b.mu.Unlock()
	b.deliver()
}

// deliver hands the queued transitions to onTransition one at a time,
// without the lock. If onTransition panics, the rest stay queued for the
// next call, and the panic goes on up.
func (b *Breaker) deliver() {
	finished := false
	defer func() {
		if !finished {
			b.mu.Lock()
			b.delivering = false
			b.mu.Unlock()
		}
	}()
	for {
		b.mu.Lock()
		if len(b.pending) == 0 {
			// In the same critical section as the check, so a transition
			// queued after it finds delivering false and delivers itself.
			b.delivering = false
			b.mu.Unlock()
			finished = true
			return
		}
		t := b.pending[0]
		b.pending = b.pending[:copy(b.pending, b.pending[1:])]
		b.mu.Unlock()
		b.onTransition(t)
	}
}
