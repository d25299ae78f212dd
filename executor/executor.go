package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/supervisor"
	"github.com/warden-go/warden/messages"
)

// Executor runs jobs against registered dependencies. It is safe for
// concurrent use. Shutdown must be called to stop its actors and
// goroutines.
type Executor struct {
	cfg        config
	logger     *slog.Logger
	system     *actor.ActorSystem
	ownSystem  bool
	dispatcher *dispatcher
	events     *eventQueue

	deps    atomic.Pointer[map[string]*dependency] // copy on write
	mu      sync.Mutex                             // serialises Register and Shutdown
	retired []*dependency                          // replaced after escalation, still to stop

	closing      atomic.Bool
	shutdownOnce sync.Once
	shutdownDone chan struct{}

	epoch     time.Time // a monotonic origin for cheap elapsed-time reads
	jobTimers timerPool
	actors    atomic.Int64 // live actor instances
	timers    atomic.Int64 // pending timers
}

// New builds an executor and registers the dependencies given with
// WithDependency. An invalid policy or name makes it fail with an error
// matching ErrInvalidPolicy that names every bad field; nothing is left
// running then.
func New(opts ...Option) (*Executor, error) {
	ex := &Executor{shutdownDone: make(chan struct{}), epoch: time.Now()}
	for _, o := range opts {
		o.apply(&ex.cfg)
	}
	var errs []error
	seen := map[string]bool{}
	for _, d := range ex.cfg.deps {
		if err := checkName(d.name); err != nil {
			errs = append(errs, err)
		} else if seen[d.name] {
			errs = append(errs, fmt.Errorf("%w: dependency %q registered twice", messages.ErrInvalidPolicy, d.name))
		}
		seen[d.name] = true
		if err := d.policy.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("dependency %q: %w", d.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	ex.logger = ex.cfg.logger
	if ex.logger == nil {
		ex.logger = slog.New(slog.DiscardHandler)
	}
	ex.dispatcher = newDispatcher(64)
	ex.system = ex.cfg.system
	if ex.system == nil {
		ex.ownSystem = true
		base := ex.logger.Handler()
		ex.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(minLevel{Handler: base, min: slog.LevelWarn}).With("component", "protoactor")
		}))
	}
	if ex.cfg.onEvent != nil {
		ex.events = newEventQueue(ex.cfg.onEvent, ex.cfg.eventBuf)
	}
	empty := map[string]*dependency{}
	ex.deps.Store(&empty)
	for _, d := range ex.cfg.deps {
		if err := ex.Register(d.name, d.policy); err != nil {
			_ = ex.Shutdown(context.Background())
			return nil, err
		}
	}
	return ex, nil
}

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty dependency name", messages.ErrInvalidPolicy)
	}
	return nil
}

// Register adds a dependency at run time. It fails with an error matching
// ErrInvalidPolicy for an empty name, a name already in use or an invalid
// policy, and with ErrShutdown after Shutdown. A dependency that is down
// after escalation may be registered again; that replaces it.
func (ex *Executor) Register(name string, p Policy) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("dependency %q: %w", name, err)
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.closing.Load() {
		return messages.ErrShutdown
	}
	old := *ex.deps.Load()
	prev, exists := old[name]
	if exists && !errors.Is(prev.closedErr(), messages.ErrDependencyDown) {
		return fmt.Errorf("%w: dependency %q already registered", messages.ErrInvalidPolicy, name)
	}
	d, err := newDependency(ex, name, p)
	if err != nil {
		return err
	}
	next := make(map[string]*dependency, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = d
	ex.deps.Store(&next)
	if exists {
		ex.retired = append(ex.retired, prev)
	}
	return nil
}

func (ex *Executor) lookup(name string) (*dependency, error) {
	if d, ok := (*ex.deps.Load())[name]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("%w: %q", messages.ErrUnknownDependency, name)
}

// Submit starts fn as a job of the named dependency and returns its
// Future at once; it never blocks. Errors known at once (unknown
// dependency, ErrShutdown, ErrRejected, an open circuit, a nil function or
// context, a context already done) complete the Future immediately.
//
// The job's context is ctx bounded by the job's deadline (the earlier of
// ctx's deadline and the policy's Timeout) and, per attempt, by
// AttemptTimeout. Cancelling ctx cancels the job, which then ends with
// ctx.Err().
func (ex *Executor) Submit(ctx context.Context, dependency string, fn func(context.Context) (any, error)) *Future {
	j, err := startJob(ctx, ex, dependency, fn, false)
	if err != nil {
		return failed(err)
	}
	return &j.f
}

// startJob admits and launches a job for fn, or says at once why not.
// With wait, the caller is about to wait for the result: the Future's
// channel is made before anyone else can see the job, so neither side
// needs the Future's lock to find it.
func startJob[T any](ctx context.Context, ex *Executor, dependency string, fn func(context.Context) (T, error), wait bool) (*job, error) {
	if ctx == nil || fn == nil {
		return nil, fmt.Errorf("%w: nil context or function for %q", messages.ErrInvalidJob, dependency)
	}
	if ex.closing.Load() {
		return nil, messages.ErrShutdown
	}
	d, err := ex.lookup(dependency)
	if err != nil {
		return nil, err
	}
	if err := d.admit(ctx); err != nil {
		return nil, err
	}
	j := newJob(fn)
	if wait {
		j.f.done = make(chan struct{})
	}
	d.launch(ctx, j)
	return j, nil
}

// Do runs fn as a job of the named dependency and waits for its result,
// as Submit followed by waiting on the Future. The job's context derives
// from ctx, so cancelling ctx ends the job with ctx.Err().
func Do[T any](ctx context.Context, ex *Executor, dependency string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	j, err := startJob(ctx, ex, dependency, fn, true)
	if err != nil {
		return zero, err
	}
	<-j.f.done // made by startJob
	if j.f.err != nil {
		return zero, j.f.err
	}
	v, _ := j.f.val.(T)
	return v, nil
}

// Control is a manual breaker operation for Breaker.
type Control = messages.ControlOp

// Manual breaker operations.
const (
	ResetBreaker     = messages.OpReset
	ForceOpenBreaker = messages.OpForceOpen
	DisableBreaker   = messages.OpDisable
)

// Breaker applies a manual operation to a dependency's breaker and waits
// for it: ForceOpenBreaker rejects every call until ResetBreaker,
// DisableBreaker admits every call and never trips. It returns the new
// state.
func (ex *Executor) Breaker(ctx context.Context, dependency string, op Control) (State, error) {
	d, err := ex.lookup(dependency)
	if err != nil {
		return 0, err
	}
	if err := d.closedErr(); err != nil {
		return 0, err
	}
	done := make(chan messages.State, 1)
	d.root.Send(d.pids.breaker, messages.Control{Op: op, Done: done})
	select {
	case s := <-done:
		return s, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Shutdown stops admission (later submits get ErrShutdown), answers every
// job still queued or waiting to retry with ErrShutdown, and lets running
// attempts finish until ctx is done (the first caller's ctx is the grace); then it answers what is left with
// ErrShutdown, stops every actor and timer and waits for the executor's
// goroutines. It returns nil once all that is done, or ctx.Err() if ctx
// ends first; the stopping then goes on in the background, waiting for
// job functions that ignore their context to return. It is idempotent and
// safe for concurrent use: every call waits for the same shutdown.
func (ex *Executor) Shutdown(ctx context.Context) error {
	grace := make(chan struct{})
	ex.shutdownOnce.Do(func() { go ex.shutdown(grace) })
	select {
	case <-ex.shutdownDone:
		return nil
	case <-ctx.Done():
		close(grace)
		return ctx.Err()
	}
}

// shutdown runs once. grace is closed when the first caller's context
// ends: running attempts are then answered without waiting for them.
func (ex *Executor) shutdown(grace <-chan struct{}) {
	defer close(ex.shutdownDone)
	ex.mu.Lock()
	ex.closing.Store(true)
	var deps []*dependency
	for _, d := range *ex.deps.Load() {
		deps = append(deps, d)
	}
	deps = append(deps, ex.retired...)
	ex.mu.Unlock()

	for _, d := range deps {
		d.close(messages.ErrShutdown)
	}
	for _, d := range deps {
		select {
		case <-d.drained:
		case <-grace:
		}
	}
	for _, d := range deps {
		d.force()
		ex.system.Root.Stop(d.pids.supervisor)
	}
	for _, d := range deps {
		<-d.stopped
		d.deadlines.stop()
		d.keeper.Stop()
	}
	ex.events.close()
	ex.dispatcher.close()
	if ex.ownSystem {
		ex.system.Shutdown()
	}
}

// Gauges are live counts of what the executor holds; all are zero after a
// complete Shutdown.
type Gauges struct {
	// Actors is the number of live actor instances.
	Actors int64
	// Timers is the number of pending timers: retry backoffs, breaker
	// wake-ups and restart delays.
	Timers int64
	// InFlight is the number of admitted jobs not yet let go.
	InFlight int64
}

// Gauges returns the executor's live counts.
func (ex *Executor) Gauges() Gauges {
	g := Gauges{Actors: ex.actors.Load(), Timers: ex.timers.Load()}
	for _, d := range *ex.deps.Load() {
		g.InFlight += d.inflight.Load()
	}
	for _, d := range ex.retired {
		g.InFlight += d.inflight.Load()
	}
	return g
}

func (ex *Executor) stateChanged(d *dependency, t breaker.Transition, v *breaker.View) {
	attrs := []any{"dependency", d.name, "from", t.From.String(), "to", t.To.String(), "reason", t.Reason}
	switch t.To {
	case messages.Open:
		ex.logger.Warn("warden: circuit opened", append(attrs, "open_for", t.OpenFor, "failures", v.TripFailures)...)
	case messages.Closed:
		ex.logger.Info("warden: circuit closed", attrs...)
	default:
		ex.logger.Info("warden: circuit state changed", attrs...)
	}
	ex.events.emit(Event{Kind: EventStateChange, Dependency: d.name, At: t.At, From: t.From, To: t.To, Reason: t.Reason})
}

func (ex *Executor) retryScheduled(d *dependency, attempt int, delay time.Duration, err error) {
	if ex.logger.Enabled(context.Background(), slog.LevelDebug) {
		ex.logger.Debug("warden: retry scheduled", "dependency", d.name, "attempt", attempt, "delay", delay, "err", err)
	}
	ex.events.emit(Event{Kind: EventRetry, Dependency: d.name, At: time.Now(), Attempt: attempt, Delay: delay, Err: err})
}

func (ex *Executor) actorRestarted(d *dependency, child string, dec supervisor.Decision, reason any) {
	err := fmt.Errorf("%v", reason)
	ex.logger.Warn("warden: actor restarting", "dependency", d.name, "actor", child, "delay", dec.Delay, "crashes", dec.Crashes, "err", err)
	ex.events.emit(Event{Kind: EventRestart, Dependency: d.name, At: time.Now(), Actor: child, Delay: dec.Delay, Err: err})
}

func (ex *Executor) escalated(d *dependency, child string, dec supervisor.Decision, reason any) {
	err := fmt.Errorf("%v", reason)
	ex.logger.Error("warden: dependency down, restart limit passed", "dependency", d.name, "actor", child, "crashes", dec.Crashes, "err", err)
	ex.events.emit(Event{Kind: EventEscalation, Dependency: d.name, At: time.Now(), Actor: child, Err: err})
}

// minLevel drops records below min; it keeps protoactor's info chatter
// out of the user's log.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(a), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}

// monoNow reads the monotonic clock alone: time.Now also reads the wall
// clock, a second system clock read. The wall reading of the result is
// the epoch's advanced by the elapsed time; instants are compared by
// their monotonic readings, so only a wall-clock step since the epoch
// could show, and only in the wall reading. Workers use it to time
// attempts.
func (ex *Executor) monoNow() time.Time { return ex.epoch.Add(time.Since(ex.epoch)) }
