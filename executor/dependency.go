package executor

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/actors/supervisor"
	"github.com/warden-go/warden/messages"
)

// dependency is everything one protected dependency owns: its admission
// counter, its job queue, the cores of its breaker and retrier actors, its
// workers and their supervisor.
type dependency struct {
	ex     *Executor
	name   string
	policy Policy // defaults applied
	cap    int64

	inflight  atomic.Int64  // admitted jobs not yet let go by their owner
	submitted atomic.Uint64 // submissions, but for those in shed
	counts    [numOutcomes]atomic.Uint64
	attempts  atomic.Uint64
	retries   atomic.Uint64
	abandoned atomic.Uint64
	restarts  atomic.Uint64

	// queue holds jobs waiting for a worker. Its capacity is the
	// admission limit, and every job in it holds an admission slot, so a
	// send never blocks.
	queue chan *job
	// idle holds the ids of idle workers. Each worker is in it at most
	// once, so its capacity (the number of workers) is never exceeded.
	idle    chan int
	workers []worker

	breaker *breaker.Core
	retrier *retrier.Core
	root    *actor.RootContext
	pids    struct{ supervisor, breaker, retrier *actor.PID }

	waitMu  sync.Mutex
	waiting []*job // jobs waiting for a HALF_OPEN probe permit

	// shed counts calls an open breaker turned away at admission: the
	// one counter that path writes, on a cache line of its own so that
	// shedding load does not slow the readers of the fields around it.
	_    [64]byte
	shed atomic.Uint64
	_    [56]byte

	deadlines *deadlines // of the jobs not in backoff

	// keeper pokes the parked workers once per workerKeepAlive, while any
	// worker parks; keeping says it is set.
	keeper  *time.Timer
	keeping atomic.Bool

	rejectCache  atomic.Pointer[rejection]
	rejectExpiry *time.Timer // drops an OPEN breaker's cached rejection
	rejectMu     sync.Mutex  // orders storing an entry and setting its timer

	closeErr atomic.Pointer[error] // set once: ErrShutdown or ErrDependencyDown
	closeMu  sync.Mutex
	drained  chan struct{} // closed when closed and nothing is in flight
	drainOne sync.Once
	ready    chan struct{} // closed when the actors are spawned
	stopped  chan struct{} // closed when the supervisor has stopped
}

func newDependency(ex *Executor, name string, p Policy) (*dependency, error) {
	p = p.withDefaults()
	m, err := breaker.NewMachine(p.Breaker, rand.Uint64())
	if err != nil {
		return nil, err
	}
	d := &dependency{
		ex:      ex,
		name:    name,
		policy:  p,
		cap:     int64(p.Pool.Workers + p.Pool.Queue),
		queue:   make(chan *job, p.Pool.Workers+p.Pool.Queue),
		idle:    make(chan int, p.Pool.Workers),
		workers: make([]worker, p.Pool.Workers),
		root:    ex.system.Root,
		drained: make(chan struct{}),
		ready:   make(chan struct{}),
		stopped: make(chan struct{}),
	}
	d.deadlines = newDeadlines()
	d.keeper = time.AfterFunc(time.Hour, func() {
		d.keeping.Store(false)
		d.pokeWorkers()
	})
	d.keeper.Stop()
	d.rejectExpiry = time.AfterFunc(time.Hour, func() { d.rejectCache.Store(nil) })
	d.rejectExpiry.Stop()
	d.breaker = breaker.NewCore(m, breaker.Hooks{
		OnTransition: d.onTransition,
		Gate:         d,
		Fault:        d.faultAt(SiteBreaker),
		Timers:       &ex.timers,
		Actors:       &ex.actors,
	})
	d.retrier = retrier.NewCore(retrier.Hooks{
		OnDue:  d.onDue,
		Fault:  d.faultAt(SiteRetrier),
		Timers: &ex.timers,
		Actors: &ex.actors,
	}, func() { d.root.Send(d.pids.retrier, messages.RetryWake{}) })

	props := func(p actor.Producer) *actor.Props {
		return actor.PropsFromProducer(p, actor.WithDispatcher(ex.dispatcher))
	}
	children := []supervisor.Child{
		{Name: "breaker", Props: props(d.breaker.Producer())},
		{Name: "retrier", Props: props(d.retrier.Producer())},
	}
	for i := range d.workers {
		d.workers[i] = worker{dep: d, id: i, poke: make(chan struct{}, 1)}
		w := &d.workers[i]
		children = append(children, supervisor.Child{Name: workerName(i), Props: props(func() actor.Actor { return w })})
	}
	sup, err := supervisor.New(p.Restart, children, supervisor.Hooks{
		OnStarted:  d.onStarted,
		OnRestart:  d.onRestart,
		OnEscalate: d.onEscalate,
		OnStopped:  func() { close(d.stopped) },
		OnReplaced: func(name string, pid *actor.PID) {
			for i := range d.workers {
				if workerName(i) == name {
					d.workers[i].pid.Store(pid)
				}
			}
		},
		Timers: &ex.timers,
		Actors: &ex.actors,
	})
	if err != nil {
		return nil, err
	}
	d.pids.supervisor = ex.system.Root.SpawnPrefix(sup.Configure(actor.WithDispatcher(ex.dispatcher)), "warden/"+name+"/")
	<-d.ready
	return d, nil
}

func (d *dependency) onStarted(pids map[string]*actor.PID) {
	d.pids.breaker, d.pids.retrier = pids["breaker"], pids["retrier"]
	for i := range d.workers {
		d.workers[i].pid.Store(pids[workerName(i)])
	}
	close(d.ready)
}

func (d *dependency) faultAt(site Site) func(any) {
	hook := d.ex.cfg.fault
	if hook == nil {
		return nil
	}
	return func(any) { hook(site, d.name) }
}

// admit decides at once whether a job may enter: it counts the
// submission, and turns it away for a context already done, an open
// breaker, a full pool or a closing dependency. It allocates nothing;
// an open breaker's rejection is shared (see rejection). On success the
// caller must launch a job, which then owns the admission slot.
func (d *dependency) admit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		d.submitted.Add(1)
		d.counts[outCancelled].Add(1)
		return err
	}
	if v := d.breaker.View(); v.State.Rejects() {
		// Without a cached rejection, one monotonic clock read serves
		// both the check and RetryAfter. An OPEN whose period is over
		// goes on to the gate, which asks the breaker actor for a probe
		// even if its timer is late.
		err := d.cachedRejection(v)
		if err == nil {
			if el := time.Since(d.ex.epoch); v.State == messages.ForcedOpen || el < v.OpenUntil.Sub(d.ex.epoch) {
				err = d.rejection(v, el)
			}
		}
		if err != nil {
			// Counted once, in shed alone, which stands for both a
			// submission and a short circuit.
			d.shed.Add(1)
			d.emitRejected(err)
			return err
		}
	}
	d.submitted.Add(1)
	if d.inflight.Add(1) > d.cap {
		d.inflight.Add(-1)
		return d.reject(messages.ErrRejected, outRejected)
	}
	if err := d.closedErr(); err != nil {
		d.release()
		return d.reject(err, outRejected)
	}
	return nil
}

// launch sets up an admitted job's deadline and cancellation, passes it
// through the breaker gate and hands it to a worker. It never blocks.
func (d *dependency) launch(ctx context.Context, j *job) {
	now := time.Now()
	deadline := now.Add(d.policy.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	j.dep, j.parent, j.budget, j.deadline, j.actxDeadline = d, ctx, deadline.Sub(now), deadline, deadline
	j.mu.Lock()
	if !d.deadlines.add(j, now) {
		j.deadlineT = d.ex.jobTimers.arm(j, deadline.Sub(now), false)
	}
	if ctx.Done() != nil {
		j.stopParent = context.AfterFunc(ctx, j.onParentDone)
	}
	j.mu.Unlock()
	d.gate(j, now)
}

// rejection returns the error for a call the breaker turns away (open, or
// half-open without a permit left), and caches it for the calls that
// follow, so that rejecting allocates nothing and, while the cache holds,
// reads no clock (see cachedRejection). RetryAfter is exact to the
// millisecond: an OPEN breaker's entry is dropped by a timer at the next
// millisecond, and at the latest rejectClockGuard before the open period
// ends, after which every call reads the clock and the first one past the
// end asks for a probe even if the breaker actor's timer is late.
//
// elapsed is the time since the executor's epoch: the caller's clock read.
func (d *dependency) rejection(v *breaker.View, elapsed time.Duration) error {
	var after, validFor time.Duration
	if v.State == messages.Open {
		after = max(v.OpenUntil.Sub(d.ex.epoch)-elapsed, 0)
		validFor = min(time.Millisecond-elapsed%time.Millisecond, after-rejectClockGuard)
	}
	err := &messages.CircuitOpenError{
		Name: d.name, FailureCount: v.TripFailures, LastFailure: v.LastFailure, RetryAfter: after}
	if v.State == messages.Open && validFor <= 0 {
		return err // the period is about to end: no caching
	}
	d.rejectMu.Lock() // the entry stored last gets the timer set last
	d.rejectCache.Store(&rejection{view: v, err: err})
	if v.State == messages.Open {
		d.rejectExpiry.Reset(validFor)
	}
	d.rejectMu.Unlock()
	return err
}

// rejectClockGuard is how long before an open period ends rejections stop
// being served from the cache: a margin for the cache timer's lateness.
const rejectClockGuard = 2 * time.Millisecond

// cachedRejection returns the cached rejection for view v, or nil. An
// entry is for one view, which the breaker actor replaces on every change
// of state, and an OPEN breaker's entry expires with its timer.
func (d *dependency) cachedRejection(v *breaker.View) error {
	if c := d.rejectCache.Load(); c != nil && c.view == v {
		return c.err
	}
	return nil
}

type rejection struct {
	view *breaker.View
	err  *messages.CircuitOpenError
}

func (d *dependency) emitRejected(err error) {
	if d.ex.events != nil {
		d.ex.events.emit(Event{Kind: EventRejected, Dependency: d.name, At: time.Now(), Err: err})
	}
}

func (d *dependency) reject(err error, o outcome) error {
	d.counts[o].Add(1)
	d.emitRejected(err)
	return err
}

// gate passes a job through the breaker: CLOSED and Disabled admit it
// under the generation's permit, OPEN and ForcedOpen turn it away without
// a message, and HALF_OPEN (or an OPEN period just over) parks it for the
// breaker actor to grant or refuse a probe permit. The caller owns j.
func (d *dependency) gate(j *job, now time.Time) {
	v := d.breaker.View()
	switch v.State {
	case messages.Closed, messages.Disabled:
		j.permit = messages.Permit{Generation: v.Generation}
		d.dispatch(j)
	case messages.Open:
		if now.Before(v.OpenUntil) {
			d.shortCircuit(j, v)
			return
		}
		d.park(j)
	case messages.HalfOpen:
		if v.ProbesFull {
			d.shortCircuit(j, v)
			return
		}
		d.park(j)
	default:
		d.shortCircuit(j, v)
	}
}

func (d *dependency) shortCircuit(j *job, v *breaker.View) {
	err := d.cachedRejection(v)
	if err == nil {
		err = d.rejection(v, time.Since(d.ex.epoch))
	}
	if j.finish(nil, err, outShortCircuited) {
		d.emitRejected(err)
	}
	d.release()
}

// dispatch puts j in the queue and, unless a worker parked on the queue
// took it at once (the queue is then empty), wakes an idle worker. A
// worker whose keep-alive ends stops waiting before it looks at the queue
// a last time, so a job queued as it leaves is seen by one of the two.
func (d *dependency) dispatch(j *job) {
	d.queue <- j // never blocks: see the queue's comment
	if d.closedErr() != nil {
		d.drainQueue() // lost a race with close: answer it here
		return
	}
	if len(d.queue) > 0 {
		d.wakeWorker()
	}
}

// keepAlive sets the keeper, unless it is set: a worker is about to park.
func (d *dependency) keepAlive() {
	if !d.keeping.Load() && d.keeping.CompareAndSwap(false, true) {
		d.keeper.Reset(workerKeepAlive)
	}
}

// pokeWorkers makes every parked worker look up; one that is busy looks
// up when it next parks.
func (d *dependency) pokeWorkers() {
	for i := range d.workers {
		select {
		case d.workers[i].poke <- struct{}{}:
		default:
		}
	}
}

// wakeWorker wakes an idle (asleep) worker, if there is one, by a
// message to its mailbox.
func (d *dependency) wakeWorker() {
	select {
	case id := <-d.idle:
		d.root.Send(d.workers[id].pid.Load(), work{})
	default:
	}
}

func (d *dependency) park(j *job) {
	d.waitMu.Lock()
	d.waiting = append(d.waiting, j)
	d.waitMu.Unlock()
	if d.closedErr() != nil {
		d.drainWaiting()
		return
	}
	d.root.Send(d.pids.breaker, messages.ProbeWanted{})
}

// NextWaiting implements breaker.Gate. Jobs already finished (their
// deadline passed while they waited) are let go here.
func (d *dependency) NextWaiting() (any, bool) {
	for {
		d.waitMu.Lock()
		if len(d.waiting) == 0 {
			d.waitMu.Unlock()
			return nil, false
		}
		j := d.waiting[0]
		d.waiting[0] = nil
		d.waiting = d.waiting[1:]
		d.waitMu.Unlock()
		if !j.f.isDone() {
			return j, true
		}
		d.release()
	}
}

// Admit implements breaker.Gate.
func (d *dependency) Admit(ticket any, p messages.Permit) {
	j := ticket.(*job)
	j.permit = p
	d.dispatch(j)
}

// Refuse implements breaker.Gate.
func (d *dependency) Refuse(ticket any, v *breaker.View) {
	d.shortCircuit(ticket.(*job), v)
}

// onDue is the retrier's hand-back: the backoff is over. It runs under
// the retrier's lock, so nothing it calls may call into the retrier.
func (d *dependency) onDue(ticket any) {
	j := ticket.(*job)
	if j.f.isDone() {
		d.release()
		return
	}
	if err := d.closedErr(); err != nil {
		j.finish(nil, err, outFailed)
		d.release()
		return
	}
	now := time.Now()
	if !now.Before(j.deadline) {
		// The timer fired late and the deadline has passed. This runs
		// under the retrier's lock: finish without calling back into it.
		j.endJob(context.DeadlineExceeded)
		j.finishEnded()
		d.release()
		return
	}
	j.mu.Lock()
	if j.ended == nil {
		j.deadlineT = d.ex.jobTimers.arm(j, j.deadline.Sub(now), false)
	}
	j.mu.Unlock()
	d.gate(j, now)
}

// settle decides what follows an attempt that returned. ended says the
// job's context had ended for good when the attempt's ended.
func (d *dependency) settle(j *job, v any, err error, panicked bool, start, now time.Time, attemptTimedOut, ended bool) {
	elapsed := now.Sub(start)
	if j.f.isDone() || ended || !now.Before(j.deadline) {
		// The job ended while its attempt ran: its deadline passed, the
		// caller cancelled, or the executor forced it. No late success is
		// delivered.
		if j.f.isDone() {
			d.abandoned.Add(1) // fn outlived its job
		}
		j.onDeadline() // if nothing ended it yet, its deadline has passed
		<-j.f.Done()
		o := messages.Failure // the dependency ran out of the caller's time
		if errors.Is(j.f.err, context.Canceled) || errors.Is(j.f.err, messages.ErrShutdown) ||
			errors.Is(j.f.err, messages.ErrDependencyDown) {
			o = messages.Ignored
		}
		d.report(j.permit, o, elapsed)
		d.release()
		return
	}
	switch {
	case panicked:
		d.report(j.permit, messages.Failure, elapsed)
		j.finish(nil, err, outPanicked)
		d.release()
		return
	case err == nil:
		d.report(j.permit, messages.Success, elapsed)
		j.finish(v, nil, outSucceeded)
		d.release()
		return
	}
	if attemptTimedOut {
		err = d.timeoutError(d.policy.AttemptTimeout)
	}
	d.report(j.permit, d.policy.Breaker.Classify(err), elapsed)
	step := d.policy.Retry.Next(j.attempt, err, j.prevDelay, now, j.deadline, rand.Float64())
	if step.Retry() {
		j.prevDelay = step.Delay
		d.retries.Add(1)
		d.ex.retryScheduled(d, j.attempt, step.Delay, err)
		// The retry always fires before the deadline, so the job needs no
		// deadline timer while it waits: one timer per pending retry.
		j.mu.Lock()
		dt := j.deadlineT
		j.deadlineT = nil
		j.mu.Unlock()
		d.deadlines.remove(j)
		d.ex.jobTimers.disarm(dt)
		if d.retrier.Request(j, step.Delay) {
			return // the retrier owns the job now
		}
		err = *d.closeErr.Load()
		j.finish(nil, err, outFailed)
		d.release()
		return
	}
	o := outFailed
	if j.attempt > 1 && (step.Stop == retrier.Exhausted || step.Stop == retrier.DeadlineReached) {
		err = &messages.RetryError{Attempts: j.attempt, Last: err}
	} else if _, ok := err.(*messages.TimeoutError); ok {
		o = outTimedOut
	}
	j.finish(nil, err, o)
	d.release()
}

// report sends an attempt's outcome to the breaker actor, unless it
// cannot change anything: a success or an ignored outcome under a CLOSED
// permit while the breaker has no failure run and no rate rule.
func (d *dependency) report(p messages.Permit, o messages.Outcome, elapsed time.Duration) {
	if !p.Probe && o != messages.Failure {
		if v := d.breaker.View(); v.FastSuccess && v.Generation == p.Generation {
			return
		}
	}
	d.root.Send(d.pids.breaker, messages.Report{Permit: p, Outcome: o, Elapsed: elapsed})
}

func (d *dependency) timeoutError(budget time.Duration) error {
	return &messages.TimeoutError{Operation: d.name, Duration: budget, Kind: d.policy.TimeoutKind}
}

// release gives back an admission slot.
func (d *dependency) release() {
	if d.inflight.Add(-1) == 0 && d.closedErr() != nil {
		d.drainOne.Do(func() { close(d.drained) })
	}
}

func (d *dependency) closedErr() error {
	if p := d.closeErr.Load(); p != nil {
		return *p
	}
	return nil
}

// close stops admission with err and answers every job that is waiting:
// queued, parked for a probe or in backoff. Running attempts go on; force
// answers them. It reports false if the dependency was already closed.
func (d *dependency) close(err error) bool {
	d.closeMu.Lock()
	if d.closeErr.Load() != nil {
		d.closeMu.Unlock()
		return false
	}
	d.closeErr.Store(&err)
	d.closeMu.Unlock()
	d.pokeWorkers() // parked workers let go
	for _, t := range d.retrier.Close() {
		j := t.(*job)
		j.finish(nil, err, outFailed)
		d.release()
	}
	d.drainWaiting()
	d.drainQueue()
	if d.inflight.Load() == 0 {
		d.drainOne.Do(func() { close(d.drained) })
	}
	return true
}

// force answers the jobs whose attempts are still running and cancels
// their contexts; their workers let go of them when fn returns.
func (d *dependency) force() {
	err := d.closedErr()
	for i := range d.workers {
		if j := d.workers[i].running.Load(); j != nil {
			j.finish(nil, err, outFailed)
		}
	}
}

func (d *dependency) drainQueue() {
	err := d.closedErr()
	for {
		select {
		case j := <-d.queue:
			j.finish(nil, err, outFailed)
			d.release()
		default:
			return
		}
	}
}

func (d *dependency) drainWaiting() {
	err := d.closedErr()
	d.waitMu.Lock()
	waiting := d.waiting
	d.waiting = nil
	d.waitMu.Unlock()
	for _, j := range waiting {
		j.finish(nil, err, outFailed)
		d.release()
	}
}

func (d *dependency) onTransition(t breaker.Transition, v *breaker.View) {
	d.ex.stateChanged(d, t, v)
}

func (d *dependency) onRestart(child string, dec supervisor.Decision, reason any) {
	d.restarts.Add(1)
	d.ex.actorRestarted(d, child, dec, reason)
}

// onEscalate marks the dependency down: it fails every waiting and running
// job with ErrDependencyDown, and later submits fail fast until the name
// is registered again. The supervisor stops the actors.
func (d *dependency) onEscalate(child string, dec supervisor.Decision, reason any) {
	if d.close(messages.ErrDependencyDown) {
		d.force()
	}
	d.ex.escalated(d, child, dec, reason)
}
