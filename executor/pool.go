package executor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-go/warden/messages"
)

// A worker is a plain goroutine reading its dependency's job channel. Its
// state word holds the number of its current attempt and a flag, so that
// the watchdog can abandon it (and start a replacement) only for the
// attempt it timed out.
type worker struct {
	d   *dependency
	st  atomic.Uint64 // seq<<1 | abandoned
	rng *rand.Rand
}

// startPool starts the workers, once, at the first call admitted: until
// then the dependency holds no goroutine.
func (d *dependency) startPool() {
	d.workerMu.Lock()
	defer d.workerMu.Unlock()
	if d.poolUp.Load() || d.stopping {
		return
	}
	d.queue = make(chan *job, 2*d.policy.Pool.Workers+d.policy.Pool.Queue)
	d.latency.Store(new(latencies))
	for range d.policy.Pool.Workers {
		d.startWorkerLocked()
	}
	d.poolUp.Store(true)
}

// startWorker adds a worker to the pool.
func (d *dependency) startWorker() {
	d.workerMu.Lock()
	defer d.workerMu.Unlock()
	d.startWorkerLocked()
}

func (d *dependency) startWorkerLocked() {
	if d.stopping {
		return
	}
	w := &worker{d: d, rng: rand.New(rand.NewPCG(d.ex.seed(), d.ex.seed()))}
	d.workers.Add(1)
	d.liveWorkers.Add(1)
	go w.run()
}

// run serves jobs until it takes the stop signal (a nil job), is
// abandoned in a function that outlived its attempt, or crashes.
func (w *worker) run() {
	d := w.d
	defer d.workers.Done()
	var j *job
	defer func() {
		if r := recover(); r != nil {
			// A fault of the worker's own, outside any function: the job
			// it held goes back to the queue and the supervisor decides.
			d.liveWorkers.Add(-1)
			if j != nil {
				d.queue <- j // never blocks: j holds its slot
			}
			d.workerCrashed(r)
		}
	}()
	for j = range d.queue {
		if j == nil {
			d.liveWorkers.Add(-1)
			return
		}
		d.fault(siteWorker)
		if !w.serve(j) {
			return
		}
	}
}

// serve runs one attempt of j, which the queue handed over. It reports
// false when the worker was abandoned and must stop.
func (w *worker) serve(j *job) bool {
	d := w.d
	s := j.load()
	if !s.in(phaseQueued) { // ended while queued
		j.release()
		return true
	}
	now := d.monoNow()
	if now >= j.deadline {
		j.end(s.gen(), d.jobTimeout(j), outTimedOut)
		j.release()
		return true
	}
	due := j.deadline
	if at := d.policy.AttemptTimeout; at > 0 {
		due = min(due, after(now, at))
	}
	n := s.attempt() + 1
	token := w.st.Load() >> 1
	// Everything the attempt reads of j is read before it is published
	// as running: from then on the watchdog may end it, and j may be
	// recycled while fn, which ignores its context, still runs.
	j.actx.Store(newAttemptCtx(j.parent, d.epoch.Add(time.Duration(due))))
	j.start, j.worker, j.workerToken, j.attemptDue = now, w, token, due
	running := mkState(s.gen(), n, 0, phaseRunning)
	d.running.Add(1)
	panicked, started, claimed, err := w.call(j, j.res, s, running)
	if !started {
		d.attemptOver()
		j.release() // ended as it was taken
		return true
	}
	return w.finishAttempt(j, running, token, due, attemptEnd{attempt: n, err: err, panicked: panicked}, claimed)
}

// begin publishes the attempt as running (from s, which the worker
// holds); it reports false if the job ended meanwhile.
func (j *job) begin(s, running state) bool {
	if !j.cas(s, running) {
		return false
	}
	j.dep.attempts.Add(1)
	j.dep.watch(j, j.attemptDue)
	return true
}

// finishAttempt carries on after fn returned: if the attempt is still the
// worker's, its holder decides what follows. It reports false when the
// watchdog abandoned the worker meanwhile (a replacement runs already),
// so the worker must stop.
func (w *worker) finishAttempt(j *job, running state, token uint64, due int64, a attemptEnd, claimed bool) bool {
	d := w.d
	mine := w.st.CompareAndSwap(token<<1, (token+1)<<1)
	if !mine {
		d.stuck.Add(-1)
	}
	if !claimed {
		if j.load().endedFrom(running) {
			// Ended from outside while it ran: a probe permit goes back
			// when the job is let go. Had the watchdog abandoned the
			// worker, it counted the attempt out already.
			if mine {
				d.attemptOver()
			}
			j.release()
		}
		return mine
	}
	end := d.monoNow()
	d.attemptOver()
	a.timedOut = end >= due
	rnd := 0.0 // the jitter of a retry's delay: a plain success has no retry
	if !a.plainSuccess() {
		rnd = w.rng.Float64()
	}
	d.afterAttempt(j, mkState(running.gen(), running.attempt(), 0, phaseSettling), a, end, rnd)
	return mine
}

// call runs the attempt's function under recover. A panic becomes a
// *PanicError. runtime.Goexit in fn ends the attempt the same way and,
// since it ends this goroutine too, the worker hands its place to a
// replacement.
func (w *worker) call(j *job, res result, from, s state) (panicked, started, claimed bool, err error) {
	token, due := j.workerToken, j.attemptDue // read before fn runs
	returned := false
	defer func() {
		if returned {
			return
		}
		r := recover()
		goexit := r == nil
		if goexit {
			r = "runtime.Goexit called"
		}
		err, panicked, started = &messages.PanicError{Value: r, Stack: debug.Stack()}, true, true
		claimed = j.claim(s, context.Canceled)
		if goexit {
			if w.finishAttempt(j, s, token, due, attemptEnd{attempt: s.attempt(), err: err, panicked: true}, claimed) {
				w.d.liveWorkers.Add(-1)
				w.d.startWorker()
			}
		}
	}()
	started, claimed, err = res.call(j, from, s, j.actx.Load())
	returned = true
	return false, started, claimed, err
}

// claim takes the attempt of state s for its holder, the worker whose
// function returned or the watchdog at its deadline; one of them wins.
// Its context ends with cause.
func (j *job) claim(s state, cause error) bool {
	if !j.cas(s, mkState(s.gen(), s.attempt(), 0, phaseSettling)) {
		return false
	}
	// The context is done for ever; the job lets go of it, so that a
	// job waiting for its retry holds none.
	j.actx.Swap(nil).cancel(cause)
	return true
}

// afterAttempt decides what follows the attempt that j's holder has just
// settled (s is phaseSettling) and carries it out.
func (d *dependency) afterAttempt(j *job, s state, a attemptEnd, now int64, rnd float64) {
	v := succeeded // without the times decide needs for anything else
	if !a.plainSuccess() {
		at := d.epoch.Add(time.Duration(now))
		v = decide(decision{
			policy: &d.policy, op: j.op, deadline: d.epoch.Add(time.Duration(j.deadline)),
			budget: j.budget, prevDelay: j.prevDelay,
		}, a, at, rnd)
		if v.retry && d.budget != nil && !d.budget.allow(at, d.submitted.Load()) {
			d.retriesDenied.Add(1)
			v.retry, v.report = false, true
			v.err = fmt.Errorf("%w after %d attempts: %w", messages.ErrRetryBudgetExhausted, a.attempt, v.last)
		}
	}
	if v.report {
		d.breaker.Report(j.permit, v.outcome, time.Duration(now-j.start))
		j.probeOut = false
	}
	if !v.retry {
		j.settle(s, v.err, v.counter, now)
		j.release()
		return
	}
	if err := d.closedErr(); err != nil {
		j.settle(s, err, outFailed, now)
		j.release()
		return
	}
	d.retries.Add(1)
	d.events.retry(d, j, a.attempt, v.delay, v.last)
	j.traceRetry(a.attempt, v.delay, v.last)
	j.prevDelay, j.lastErr = v.delay, v.last
	backoff := mkState(s.gen(), s.attempt(), 0, phaseBackoff)
	retry := &retryDue{j: j, s: backoff}
	j.retry.Store(retry)
	j.cas(s, backoff) // the holder's: cannot fail
	d.watch(j, j.deadline)
	if !d.retrier.Schedule(v.at, retry) {
		j.end(s.gen(), d.stopErr(), outFailed)
		j.release()
	}
}

func (d *dependency) jobTimeout(j *job) error {
	return &messages.TimeoutError{Operation: j.op, Duration: j.budget, Kind: d.policy.TimeoutKind}
}

// attemptOver counts an attempt out of phaseRunning; the last one of a
// closing dependency lets Shutdown go on.
func (d *dependency) attemptOver() {
	if d.running.Add(-1) == 0 && d.closedErr() != nil {
		d.signalDrained()
	}
}

// workerCrashed hands a crashed worker to the supervisor, which starts a
// replacement after its restart delay (none once it is stopping).
func (d *dependency) workerCrashed(reason any) {
	d.sup.Crashed("worker", fmt.Errorf("worker: %v", reason), d.startWorker)
}

// watch sets j's watched instant and makes sure the watchdog wakes by it.
func (d *dependency) watch(j *job, due int64) {
	j.due.Store(due)
	w := &d.dog
	if due >= w.armedAt.Load() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped && due < w.armedAt.Load() {
		w.armedAt.Store(due)
		w.timer.Reset(time.Duration(due - d.monoNow()))
	}
}

// slots is a dependency's jobs: at most Workers + Queue, made as needed
// and reused, with a lock-free free list. A job's slot is its admission:
// no free slot, no admission.
type slots struct {
	d    *dependency
	head atomic.Uint64 // tag<<32 | (free slot + 1); the tag defeats ABA
	mu   sync.Mutex    // serialises growth
	all  atomic.Pointer[[]*job]
	cap  int
}

func (s *slots) init(d *dependency, n int) {
	s.d, s.cap = d, n
	empty := make([]*job, 0, min(n, 16))
	s.all.Store(&empty)
}

// take pops a free job, or makes one while fewer than cap exist; nil
// means the dependency is at capacity.
func (s *slots) take() *job {
	for {
		h := s.head.Load()
		i := int32(uint32(h)) - 1
		if i < 0 {
			return s.grow()
		}
		j := (*s.all.Load())[i]
		if s.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(uint32(j.nextF.Load()))) {
			return j
		}
	}
}

func (s *slots) put(j *job) {
	for {
		h := s.head.Load()
		j.nextF.Store(int32(uint32(h)))
		if s.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(j.slot+1)) {
			return
		}
	}
}

func (s *slots) grow() *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := *s.all.Load()
	if len(all) >= s.cap {
		return nil
	}
	j := &job{dep: s.d, slot: int32(len(all))}
	next := append(all, j) // a new array when full: readers keep theirs
	s.all.Store(&next)
	return j
}
