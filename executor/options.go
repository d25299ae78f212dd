package executor

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// An Option configures an Executor.
type Option interface {
	apply(*config)
}

type config struct {
	deps      []namedPolicy
	logger    *slog.Logger
	system    *actor.ActorSystem
	listeners []func(Event)
	eventBuf  int
	seed      uint64
	seeded    bool
	meters    metric.MeterProvider
	metersSet bool
	tracer    trace.TracerProvider
	fault     func(s site, dependency string) // tests only
}

type namedPolicy struct {
	name   string
	policy Policy
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithDependency registers a dependency at construction, as Register does
// later.
func WithDependency(name string, p Policy) Option {
	return optionFunc(func(c *config) { c.deps = append(c.deps, namedPolicy{name, p}) })
}

// WithLogger sends Warden's records to l: a warning when a breaker opens,
// info when it closes, an error on escalation; at debug level, a record
// per retry, per job that ends in an error (outcome, attempts, duration,
// err, under the caller's context, so that trace ids attach) and, once a
// second per dependency that turned calls away at once, their count. The
// keys are dependency, operation, outcome, attempt, attempts, delay,
// duration, from, to, count and err. protoactor's own records go to l
// too, at warning level and above, in an actor system the executor owns
// (WithActorSystem's system keeps its own logger). Without this option
// nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithActorSystem runs Warden's actors in the caller's actor system; the
// caller keeps ownership and shuts it down. Without it the executor owns a
// system of its own.
func WithActorSystem(s *actor.ActorSystem) Option {
	return optionFunc(func(c *config) { c.system = s })
}

// WithEvents delivers events to fn from one goroutine the executor owns,
// in order per dependency, outside every actor. It may be given more than
// once: each listener gets every event, in the order given. At most
// buffer events wait (zero means 4096; the largest buffer given wins);
// past that new events are dropped and counted in Stats.EventsDropped, so
// a slow listener never slows the jobs. A listener that panics is
// counted in Stats.ListenerPanics and goes on getting events.
func WithEvents(fn func(Event), buffer int) Option {
	return optionFunc(func(c *config) {
		c.listeners = append(c.listeners, fn)
		c.eventBuf = max(c.eventBuf, buffer)
	})
}

// WithSeed seeds every random choice the executor makes (retry jitter,
// open-period jitter, restart delays), for reproducible runs. Without it
// the seed is random.
func WithSeed(seed uint64) Option {
	return optionFunc(func(c *config) { c.seed, c.seeded = seed, true })
}

// WithMeterProvider sends the executor's metrics to mp: the instruments
// warden.calls, warden.call.duration, warden.attempts, warden.retries,
// warden.circuitbreaker.state, warden.circuitbreaker.transitions,
// warden.pool.in_flight, warden.pool.queued, warden.pool.workers,
// warden.pool.abandoned and warden.supervisor.restarts, each with the
// attribute dependency (see the package doc). Without this option they
// go to otel.GetMeterProvider(), which drops them until the application
// installs an SDK; a nil mp turns them off.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meters, c.metersSet = mp, true })
}

// WithTracerProvider traces every job with tp: one span per job, named
// "warden " and the dependency's name, a child of the caller's span and
// the parent of whatever fn starts with the context it is given. The span
// has the attributes dependency, operation and attempts, an event per
// retry (warden.retry: attempt, delay, err) and per timeout
// (warden.timeout), and on failure the status Error and the attribute
// error.type (the outcome, such as timed_out). A call turned away at once
// gets a span of its own that ends at once, with the event
// warden.circuit_open or warden.rejected. Without this option, or with a
// nil tp, nothing is traced and tracing costs nothing.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracer = tp })
}

// site names a place where a test's fault hook may inject a crash.
type site uint8

const (
	siteWorker  site = iota // a worker, before it takes a job
	siteBreaker             // the breaker actor, at a transition
	siteRetrier             // the retrier actor, as a retry comes due
)

var siteNames = [...]string{"worker", "breaker", "retrier"}

func (s site) String() string { return siteNames[s] }
