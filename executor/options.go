package executor

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
)

// An Option configures an Executor.
type Option interface {
	apply(*config)
}

type config struct {
	deps     []namedPolicy
	logger   *slog.Logger
	system   *actor.ActorSystem
	onEvent  func(Event)
	eventBuf int
	fault    func(site Site, dependency string)
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
// info when it closes, debug per retry, an error on escalation, with the
// keys dependency, attempt, delay, from, to and err. protoactor's own
// records go to l too, at warning level and above. Without this option
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
// in order per dependency, outside every actor. At most buffer events wait
// (zero means 4096); past that new events are dropped and counted in
// Stats.EventsDropped, so a slow fn never slows the jobs.
func WithEvents(fn func(Event), buffer int) Option {
	return optionFunc(func(c *config) { c.onEvent, c.eventBuf = fn, buffer })
}

// Site names a place where WithFaultHook may inject a crash.
type Site uint8

const (
	// SiteWorker is a worker actor's handling of a wake-up, by message
	// or by signal to a parked worker, outside any job.
	SiteWorker Site = iota
	// SiteBreaker is the breaker actor's message handling.
	SiteBreaker
	// SiteRetrier is the retrier actor's message handling.
	SiteRetrier
)

var siteNames = [...]string{"worker", "breaker", "retrier"}

// String returns "worker", "breaker" or "retrier".
func (s Site) String() string {
	if int(s) < len(siteNames) {
		return siteNames[s]
	}
	return "site?"
}

// WithFaultHook calls fn at the start of every message an actor handles;
// a panic in fn crashes that actor as a bug would, and its supervisor
// restarts it. It is meant for fault drills and tests, never production.
func WithFaultHook(fn func(site Site, dependency string)) Option {
	return optionFunc(func(c *config) { c.fault = fn })
}
