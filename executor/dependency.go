package executor

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/metric"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/actors/supervisor"
	"github.com/warden-go/warden/messages"
)

// Dependency is a handle on one registered dependency: calls through it
// (Call, Go, Wrap) skip the lookup by name. It stays valid for the
// executor's life; once the dependency is down or the executor shut
// down, calls through it fail with ErrDependencyDown or ErrShutdown. It
// is safe for concurrent use.
type Dependency struct{ d *dependency }

// Name returns the dependency's name.
func (h *Dependency) Name() string { return h.d.name }

// Stats returns the dependency's statistics.
func (h *Dependency) Stats() Stats { return h.d.stats() }

// dependency is the wiring of one protected dependency: its job channel
// and pool, its watchdog, its breaker, retrier and supervisor actors, and
// its counters.
type dependency struct {
	ex     *Executor
	handle Dependency // the one handle on it
	name   string
	policy Policy // defaults applied
	epoch  time.Time
	events *observer

	// queue is the job channel. It holds at most one job per slot and
	// one stop signal per worker, so a send never blocks. It is made with
	// the workers, at the first call: read it only once poolUp is true,
	// or under workerMu.
	queue       chan *job
	slots       slots
	workers     sync.WaitGroup
	workerMu    sync.Mutex   // orders starting workers against stopping them
	stopping    bool         // no more workers start
	liveWorkers atomic.Int64 // reading the queue
	poolUp      atomic.Bool  // the workers were started, at the first call
	stuck       atomic.Int64 // abandoned in a function that ignored its deadline
	running     atomic.Int64 // jobs in phaseRunning
	dog         watchdog

	breaker *breaker.Actor
	retrier *retrier.Actor
	sup     *supervisor.Supervisor
	supPID  *actor.PID

	rngMu sync.Mutex
	rng   *rand.Rand

	submitted atomic.Uint64 // but for those counted in shed
	counts    [numOutcomes]atomic.Uint64
	attempts  atomic.Uint64
	retries   atomic.Uint64
	abandoned atomic.Uint64
	restarts  [numActors]atomic.Uint64
	// budget caps the retries, if the policy has a budget.
	budget        *retryBudget
	retriesDenied atomic.Uint64

	latency  atomic.Pointer[latencies] // made with the pool
	spanName string                    // when tracing

	// For the metrics: made when first needed.
	transitions atomic.Pointer[transitionCounts]
	attrSets    atomic.Pointer[depAttrs]
	recOpts     atomic.Pointer[[numOutcomes][]metric.RecordOption]
	// shed counts calls an open breaker turned away at admission, the
	// one counter that path writes, striped so callers rejected at once
	// do not contend. It, rejectCache and the close state that follows,
	// which that path reads and only closing writes, sit away from the
	// counters the success path writes.
	_           [64]byte
	shed        striped
	rejectCache atomic.Pointer[rejection]

	closeErr  atomic.Pointer[error] // set once: ErrShutdown or ErrDependencyDown
	closeMu   sync.Mutex
	closedCh  chan struct{} // closed with closeErr
	drained   chan struct{} // closed once closed with no attempt running
	drainOnce sync.Once
	stopped   chan struct{} // closed when the supervisor has stopped
}

func newDependency(ex *Executor, name string, p Policy) (*dependency, error) {
	p = p.withDefaults()
	d := &dependency{
		ex:       ex,
		name:     name,
		policy:   p,
		epoch:    ex.epoch,
		events:   ex.events,
		rng:      rand.New(rand.NewPCG(ex.seed(), ex.seed())),
		drained:  make(chan struct{}),
		closedCh: make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	d.handle.d = d
	if p.RetryBudget != nil {
		d.budget = &retryBudget{l: retrier.NewLedger(*p.RetryBudget)}
	}
	if ex.tracer != nil {
		d.spanName = "warden " + name
	}
	d.slots.init(d, p.Pool.Workers+p.Pool.Queue)
	d.dog.init(d)
	var err error
	d.breaker, err = breaker.NewActor(name, p.Breaker, breaker.WithActorSeed(ex.seed()),
		breaker.WithActorGauges(&ex.actors, &ex.timers),
		breaker.WithActorOnTransition(func(t breaker.Transition, v *breaker.View) {
			d.fault(siteBreaker)
			d.countTransition(t.From, t.To)
			d.events.stateChanged(d, t, v)
		}))
	if err != nil {
		return nil, err
	}
	d.retrier = retrier.NewActor(retrier.WithActorGauges(&ex.actors, &ex.timers))
	d.sup, err = supervisor.New(p.Restart, []supervisor.Child{
		{Name: "breaker", Props: d.breaker.Props().Configure(actor.WithDispatcher(ex.dispatcher))},
		{Name: "retrier", Props: d.retrier.Props().Configure(actor.WithDispatcher(ex.dispatcher))},
	}, supervisor.Config{
		OnRestart: func(child string, dec supervisor.Decision, reason any) {
			d.countRestart(child)
			d.events.restarted(d, child, dec, reason)
		},
		OnEscalate: d.escalate,
		OnStopped:  func() { close(d.stopped) },
		Seed:       ex.seed(),
		Actors:     &ex.actors,
		Timers:     &ex.timers,
	})
	if err != nil {
		return nil, err
	}
	d.supPID = ex.system.Root.SpawnPrefix(d.sup.Props().Configure(actor.WithDispatcher(ex.dispatcher)), "warden/"+name+"/")
	<-d.sup.Ready()
	<-d.breaker.Ready()
	<-d.retrier.Ready()
	return d, nil
}

// retryBudget is a dependency's retry ledger, for the retry path alone.
type retryBudget struct {
	mu sync.Mutex
	l  *retrier.Ledger
}

func (b *retryBudget) allow(now time.Time, calls uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.l.Allow(now, calls)
}

// now reads the monotonic clock alone (time.Now reads the wall clock
// too, twice the cost): instants are compared by their monotonic
// readings, so only a wall-clock step since the epoch could show, and
// only in the wall reading.
func (d *dependency) now() time.Time { return d.epoch.Add(time.Since(d.epoch)) }

// after is d after the instant t of the dependency's clock, saturating
// rather than wrapping for durations so long they stand for "never".
func after(t int64, d time.Duration) int64 {
	if s := t + int64(d); s >= t {
		return s
	}
	return math.MaxInt64
}

// monoNow is now on the dependency's clock: nanoseconds since the epoch.
func (d *dependency) monoNow() int64 { return int64(time.Since(d.epoch)) }

// mono puts an instant on the dependency's clock.
func (d *dependency) mono(t time.Time) int64 { return int64(t.Sub(d.epoch)) }

// random is a uniform number in [0, 1) for paths without a worker's own.
func (d *dependency) random() float64 {
	d.rngMu.Lock()
	defer d.rngMu.Unlock()
	return d.rng.Float64()
}

func (d *dependency) fault(s site) {
	if f := d.ex.cfg.fault; f != nil {
		f(s, d.name)
	}
}

func (d *dependency) closedErr() error {
	if p := d.closeErr.Load(); p != nil {
		return *p
	}
	return nil
}

// stopErr is why a job cannot go on: the dependency's close error.
func (d *dependency) stopErr() error {
	if err := d.closedErr(); err != nil {
		return err
	}
	return messages.ErrShutdown
}

func (d *dependency) signalDrained() { d.drainOnce.Do(func() { close(d.drained) }) }

// close stops admission with err and answers every job not running an
// attempt; with force, running ones too (their contexts are cancelled).
// It reports false if the dependency was closed already.
func (d *dependency) close(err error, force bool) bool {
	d.closeMu.Lock()
	first := d.closeErr.Load() == nil
	if first {
		stored := err
		d.closeErr.Store(&stored)
		close(d.closedCh)
	}
	d.closeMu.Unlock()
	if first {
		d.rejectCache.Swap(nil).stop()
	}
	if !first && !force {
		return false
	}
	err = d.closedErr()
	for _, j := range *d.slots.all.Load() {
		s := j.load()
		if force || !s.in(phaseRunning) {
			j.end(s.gen(), err, outFailed)
		}
	}
	if d.running.Load() == 0 {
		d.signalDrained()
	}
	return first
}

// stop ends what close left running, stops the workers and the actors,
// and waits for them, workers stuck in functions that ignore their
// context included: a Shutdown whose context ended has returned by then,
// and this goes on in the background, as Shutdown says.
func (d *dependency) stop() {
	d.close(messages.ErrShutdown, true)
	d.dog.stop()
	d.sup.Close()
	d.breaker.Close()
	d.retrier.Close()
	d.workerMu.Lock()
	d.stopping = true
	for range d.liveWorkers.Load() {
		d.queue <- nil // never blocks: see the queue's comment
	}
	d.workerMu.Unlock()
	d.ex.system.Root.Stop(d.supPID)
	<-d.stopped
	d.workers.Wait()
}

// escalate marks the dependency down: every job ends with
// ErrDependencyDown, the workers stop, and later calls fail fast until
// the name is registered again. The supervisor stops the actors.
func (d *dependency) escalate(child string, dec supervisor.Decision, reason any) {
	d.close(messages.ErrDependencyDown, true)
	d.breaker.Close()
	d.retrier.Close()
	d.events.escalated(d, child, dec, reason)
}

func (d *dependency) down() bool { return errors.Is(d.closedErr(), messages.ErrDependencyDown) }
