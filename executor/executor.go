package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/internal/actorkit"
	"github.com/warden-go/warden/messages"
)

// Executor runs jobs against registered dependencies. It is safe for
// concurrent use. Shutdown must be called to stop its actors and
// goroutines.
type Executor struct {
	cfg       config
	events    *observer
	system    *actor.ActorSystem
	ownSystem bool
	epoch     time.Time
	// dispatcher runs the executor's actors on long-lived goroutines,
	// at most dispatchers per processor.
	dispatcher *actorkit.Dispatcher

	deps    atomic.Pointer[map[string]*dependency] // copy on write
	mu      sync.Mutex                             // serialises Register and Shutdown; guards retired
	retired []*dependency                          // down and replaced, still to stop

	closing      atomic.Bool
	shutdownOnce sync.Once
	shutdownDone chan struct{}

	seeds  atomic.Uint64
	actors atomic.Int64 // live actor instances
	timers atomic.Int64 // pending actor timers

	meters *meters      // nil when metrics are off
	tracer trace.Tracer // nil when tracing is off
	// summaryStop stops the summary of calls turned away, which runs
	// while a logger is given; summaryDone is closed when it has.
	summaryStop, summaryDone chan struct{}

	deadLetters    *eventstream.Subscription
	lastDeadLetter atomic.Int64 // on the executor's clock
}

// dispatchers is the number of long-lived goroutines per processor that
// run the executor's actors; actorThroughput is the number of messages an
// actor takes in one run, protoactor's default.
const (
	dispatchers     = 16
	actorThroughput = 300
)

// deadLetterThrottle is how long protoactor's dead-letter throttle keeps
// a goroutine after a dead letter, in an actor system the executor owns.
const deadLetterThrottle = 50 * time.Millisecond

// New builds an executor and registers the dependencies given with
// WithDependency. An invalid policy or name makes it fail with an error
// matching ErrInvalidPolicy that names every bad field; nothing is left
// running then.
func New(opts ...Option) (*Executor, error) {
	ex := &Executor{shutdownDone: make(chan struct{}), epoch: time.Now(),
		dispatcher: actorkit.NewDispatcher(dispatchers*runtime.GOMAXPROCS(0), actorThroughput)}
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
	if !ex.cfg.seeded {
		ex.cfg.seed = rand.Uint64()
	}
	ex.seeds.Store(ex.cfg.seed)

	logger := ex.cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ex.events = &observer{logger: logger}
	if ex.cfg.logger != nil {
		ex.summaryStop, ex.summaryDone = make(chan struct{}), make(chan struct{})
		go ex.events.summariseTurnedAway(ex, ex.summaryStop, ex.summaryDone)
	}
	if len(ex.cfg.listeners) > 0 {
		ex.events.q = newEventQueue(ex.cfg.listeners, ex.cfg.eventBuf)
	}
	ex.system = ex.cfg.system
	if ex.system == nil {
		ex.ownSystem = true
		base := logger.Handler()
		ex.system = actor.NewActorSystem(
			actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
				return slog.New(minLevel{Handler: base, min: slog.LevelWarn}).With("component", "protoactor")
			}),
			actor.WithDeadLetterThrottleInterval(deadLetterThrottle))
		ex.deadLetters = ex.system.EventStream.Subscribe(func(msg any) {
			if _, ok := msg.(*actor.DeadLetterEvent); ok {
				ex.lastDeadLetter.Store(int64(time.Since(ex.epoch)))
			}
		})
	}
	empty := map[string]*dependency{}
	ex.deps.Store(&empty)
	if tp := ex.cfg.tracer; tp != nil {
		ex.tracer = tp.Tracer(tracerName)
	}
	mp := ex.cfg.meters
	if !ex.cfg.metersSet {
		mp = otel.GetMeterProvider()
	}
	if mp != nil {
		m, err := newMeters(ex, mp)
		if err != nil {
			_ = ex.Shutdown(context.Background())
			return nil, fmt.Errorf("executor: metrics: %w", err)
		}
		ex.meters = m
	}
	for _, d := range ex.cfg.deps {
		if err := ex.Register(d.name, d.policy); err != nil {
			_ = ex.Shutdown(context.Background())
			return nil, err
		}
	}
	return ex, nil
}

// seed returns a new seed for a random source, drawn from the
// executor's seed.
func (ex *Executor) seed() uint64 {
	// splitmix64
	z := ex.seeds.Add(0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
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
// after escalation may be registered again; that replaces it (handles on
// the old one keep failing with ErrDependencyDown).
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
	if exists && !prev.down() {
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

// Dependency returns a handle on the named dependency, or an error
// matching ErrUnknownDependency.
func (ex *Executor) Dependency(name string) (*Dependency, error) {
	d, err := ex.lookup(name)
	if err != nil {
		return nil, err
	}
	return &d.handle, nil
}

func (ex *Executor) lookup(name string) (*dependency, error) {
	if d, ok := (*ex.deps.Load())[name]; ok {
		return d, nil
	}
	if ex.closing.Load() {
		return nil, messages.ErrShutdown
	}
	return nil, fmt.Errorf("%w: %q", messages.ErrUnknownDependency, name)
}

// BreakerControl is a manual breaker operation for ControlBreaker.
type BreakerControl = breaker.Control

// Manual breaker operations.
const (
	// ResetBreaker closes the breaker and clears its failure run.
	ResetBreaker = breaker.Reset
	// ForceOpenBreaker rejects every call until ResetBreaker.
	ForceOpenBreaker = breaker.ForceOpen
	// DisableBreaker admits every call and never trips, until ResetBreaker.
	DisableBreaker = breaker.Disable
)

// ControlBreaker applies a manual operation to the named dependency's
// breaker and waits for it; it returns the new state. An unknown
// operation fails with ErrInvalidJob; a dependency shut down or down, or
// going so meanwhile, with ErrShutdown or ErrDependencyDown; ctx ending
// first, with ctx.Err().
func (ex *Executor) ControlBreaker(ctx context.Context, dependency string, op BreakerControl) (State, error) {
	d, err := ex.lookup(dependency)
	if err != nil {
		return Closed, err
	}
	return d.handle.ControlBreaker(ctx, op)
}

// ControlBreaker is Executor.ControlBreaker for this dependency.
func (h *Dependency) ControlBreaker(ctx context.Context, op BreakerControl) (State, error) {
	if !op.Valid() {
		return Closed, fmt.Errorf("%w: unknown breaker control %v", messages.ErrInvalidJob, op)
	}
	return h.d.awaitBreaker(ctx, func(reply chan<- State) bool { return h.d.breaker.Control(op, reply) })
}

// OpenBreakerFor opens the named dependency's breaker for d, whatever its
// state, with reason as the transition's reason: for a maintenance
// window, or to follow a breaker elsewhere that opened. When d has
// passed the breaker goes HALF_OPEN and probes, as after a trip. A d that
// is not positive fails with ErrInvalidJob; the other errors are
// ControlBreaker's.
func (ex *Executor) OpenBreakerFor(ctx context.Context, dependency string, d time.Duration, reason string) (State, error) {
	dep, err := ex.lookup(dependency)
	if err != nil {
		return Closed, err
	}
	return dep.handle.OpenBreakerFor(ctx, d, reason)
}

// OpenBreakerFor is Executor.OpenBreakerFor for this dependency.
func (h *Dependency) OpenBreakerFor(ctx context.Context, d time.Duration, reason string) (State, error) {
	if d <= 0 {
		return Closed, fmt.Errorf("%w: open period %v is not positive", messages.ErrInvalidJob, d)
	}
	return h.d.awaitBreaker(ctx, func(reply chan<- State) bool { return h.d.breaker.OpenFor(d, reason, reply) })
}

// HalfOpenBreaker moves the named dependency's breaker to HALF_OPEN now,
// whatever its state, admitting at most probes probes at once (never more
// than its policy's HalfOpenProbes), with reason as the transition's
// reason: to follow a breaker elsewhere that grants this process its
// probes. The probes close or re-open it as after an open period. A
// probes below one fails with ErrInvalidJob; the other errors are
// ControlBreaker's.
func (ex *Executor) HalfOpenBreaker(ctx context.Context, dependency string, probes int, reason string) (State, error) {
	dep, err := ex.lookup(dependency)
	if err != nil {
		return Closed, err
	}
	return dep.handle.HalfOpenBreaker(ctx, probes, reason)
}

// HalfOpenBreaker is Executor.HalfOpenBreaker for this dependency.
func (h *Dependency) HalfOpenBreaker(ctx context.Context, probes int, reason string) (State, error) {
	if probes < 1 {
		return Closed, fmt.Errorf("%w: %d probes: at least one is needed", messages.ErrInvalidJob, probes)
	}
	return h.d.awaitBreaker(ctx, func(reply chan<- State) bool { return h.d.breaker.HalfOpen(probes, reason, reply) })
}

// awaitBreaker sends a manual operation to the breaker actor with send
// and waits for the state it replies.
func (d *dependency) awaitBreaker(ctx context.Context, send func(chan<- State) bool) (State, error) {
	if ctx == nil {
		return Closed, fmt.Errorf("%w: nil context", messages.ErrInvalidJob)
	}
	if err := d.closedErr(); err != nil {
		return Closed, err
	}
	reply := make(chan State, 1)
	if !send(reply) {
		return Closed, d.stopErr()
	}
	select {
	case s := <-reply:
		return s, nil
	case <-d.closedCh:
		select {
		case s := <-reply:
			return s, nil
		default:
			return Closed, d.stopErr()
		}
	case <-ctx.Done():
		return Closed, ctx.Err()
	}
}

// Shutdown stops admission (later calls get ErrShutdown), answers every
// job waiting in a queue, on a retry or for a probe with ErrShutdown, and
// lets running attempts finish until ctx ends; then it answers what is
// left with ErrShutdown (cancelling their contexts), stops every worker,
// actor and timer, and waits for them. It returns nil once all that is
// done, or ctx.Err() if ctx ends first: the stopping then goes on in the
// background, waiting for functions that ignore their context. It is
// idempotent and safe for concurrent use, from an event listener too:
// every call waits for the same shutdown.
func (ex *Executor) Shutdown(ctx context.Context) error {
	grace := make(chan struct{})
	first := false
	ex.shutdownOnce.Do(func() { first = true; go ex.shutdown(grace) })
	select {
	case <-ex.shutdownDone:
		return nil
	case <-ctx.Done():
		if first {
			close(grace)
		}
		return ctx.Err()
	}
}

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
		d.close(messages.ErrShutdown, false)
	}
	for _, d := range deps {
		select {
		case <-d.drained:
		case <-grace:
		}
	}
	for _, d := range deps {
		d.stop()
	}
	ex.events.q.close()
	if ex.summaryStop != nil {
		close(ex.summaryStop)
		<-ex.summaryDone
	}
	ex.meters.stop()
	ex.dispatcher.Close()
	if ex.ownSystem {
		ex.system.EventStream.Unsubscribe(ex.deadLetters)
		// protoactor's dead-letter throttle keeps a goroutine for its
		// interval after a dead letter: wait for it to end.
		if last := ex.lastDeadLetter.Load(); last != 0 {
			if wait := time.Duration(last) + 2*deadLetterThrottle - time.Since(ex.epoch); wait > 0 {
				time.Sleep(wait)
			}
		}
		ex.system.Shutdown()
	}
}

// ShuttingDown reports whether Shutdown has been called: from then on
// calls fail with ErrShutdown, and Stats and Snapshot report the last
// state.
func (ex *Executor) ShuttingDown() bool { return ex.closing.Load() }

// Gauges are live counts of what the executor holds; all are zero after a
// complete Shutdown.
type Gauges struct {
	// Actors is the number of live actor instances.
	Actors int64
	// Timers is the number of pending actor timers: retry schedules,
	// breaker wake-ups and restart delays.
	Timers int64
	// InFlight is the number of admitted jobs not yet ended.
	InFlight int64
	// Workers is the number of worker goroutines reading job channels.
	Workers int64
}

// Gauges returns the executor's live counts.
func (ex *Executor) Gauges() Gauges {
	g := Gauges{Actors: ex.actors.Load(), Timers: ex.timers.Load()}
	ex.mu.Lock()
	deps := append([]*dependency(nil), ex.retired...)
	ex.mu.Unlock()
	for _, d := range *ex.deps.Load() {
		deps = append(deps, d)
	}
	for _, d := range deps {
		n, _ := d.countJobs()
		g.InFlight += int64(n)
		g.Workers += d.liveWorkers.Load()
	}
	return g
}
