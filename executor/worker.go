package executor

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/actors/supervisor"
	"github.com/warden-go/warden/messages"
)

// work wakes an idle worker. It carries no job: jobs wait in the
// dependency's queue, so a crashed worker loses none.
type work struct{}

// worker is one of a dependency's fixed set of worker actors. Its state
// outlives restarts: the producer hands out the same value.
type worker struct {
	dep     *dependency
	id      int
	pid     atomic.Pointer[actor.PID]
	running atomic.Pointer[job] // the job whose attempt is executing
	started bool                // set on the first Started, by the actor only

	// poke (capacity 1) makes a parked worker look up: at its keep-alive
	// (see dependency.keepAlive) and when the dependency closes. lastDone is
	// when its last attempt ended; only the worker's run uses it.
	poke     chan struct{}
	lastDone time.Time
}

// workerKeepAlive is how long, at least, an idle worker keeps its run
// going, parked on the queue, before it lets its goroutine go: it is
// checked when the dependency's keep-alive timer pokes the parked
// workers, so a worker goes within twice this. A job that finds a parked
// worker reaches it by one channel send, as in a plain goroutine pool; one
// that finds every worker asleep needs a mailbox message and a new run.
const workerKeepAlive = 100 * time.Millisecond

func workerName(i int) string { return "worker-" + strconv.Itoa(i) }

// Receive implements actor.Actor.
func (w *worker) Receive(ctx actor.Context) {
	d := w.dep
	switch ctx.Message().(type) {
	case *actor.Started:
		d.ex.actors.Add(1)
		if !w.started {
			w.started = true
			d.idle <- w.id // never blocks: each worker is in idle at most once
			if len(d.queue) > 0 {
				d.wakeWorker()
			}
		}
	case *actor.Restarting, *actor.Stopped:
		d.ex.actors.Add(-1)
	case work:
		w.drain(ctx)
	case *actor.Stopping:
	default:
		d.ex.logger.Warn("warden: worker got an unexpected message", "dependency", d.name, "message", fmt.Sprintf("%T", ctx.Message()))
	}
}

// drain runs queued jobs, parked on the queue between them, until its
// keep-alive ends or the dependency closes; then the worker goes idle
// (asleep) and its run ends. A worker that crashes here re-queues the job
// it held, which never blocks (the job still holds its admission slot),
// and re-sends itself the wake-up it was handling, so it is neither idle
// nor awake-and-lost after its restart.
func (w *worker) drain(ctx actor.Context) {
	d := w.dep
	var held *job
	defer func() {
		if r := recover(); r != nil {
			if held != nil {
				d.queue <- held
			}
			ctx.Send(ctx.Self(), work{})
			panic(r)
		}
	}()
	w.fault()
	for {
		select {
		case j := <-d.queue:
			w.run(j)
			continue
		default:
		}
		j := w.linger()
		for j == nil && w.park(&j) {
		}
		if j == nil {
			break
		}
		held = j
		w.fault() // a job taken while parked is a wake-up too
		held = nil
		w.run(j)
	}
	d.idle <- w.id // never blocks: each worker is in idle at most once
	// A job queued after our last look may have found no parked worker
	// and no idle one; make sure someone takes it.
	if len(d.queue) > 0 {
		d.wakeWorker()
	}
}

func (w *worker) fault() {
	if hook := w.dep.ex.cfg.fault; hook != nil {
		hook(SiteWorker, w.dep.name)
	}
}

// lingerYields is how many times a worker whose queue ran dry yields the
// processor before it parks. The callers it just answered often queue
// their next jobs meanwhile, and the worker takes them without parking
// and being woken. One yield measured best: more delay a lone caller's
// next job, none makes every job under contention a park and a wake-up.
const lingerYields = 1

func (w *worker) linger() *job {
	for range lingerYields {
		runtime.Gosched()
		select {
		case j := <-w.dep.queue:
			return j
		default:
		}
	}
	return nil
}

// park waits on the queue for the next job and stores it in *j. When
// poked instead it reports whether to go on parking: not once the
// dependency closed or the keep-alive is over.
func (w *worker) park(j **job) bool {
	d := w.dep
	d.keepAlive()
	select {
	case *j = <-d.queue:
		return false
	case <-w.poke:
		return d.closedErr() == nil && time.Since(w.lastDone) < workerKeepAlive
	}
}

// run makes one attempt of j.
func (w *worker) run(j *job) {
	d := w.dep
	start := d.ex.monoNow()
	if j.f.isDone() {
		d.release() // it ended while it waited: skipped, never run
		return
	}
	if !start.Before(j.deadline) {
		j.onDeadline() // no attempt starts late
		d.release()
		return
	}
	if err := d.closedErr(); err != nil {
		j.finish(nil, err, outFailed)
		d.release()
		return
	}
	dl := j.deadline
	at := d.policy.AttemptTimeout
	limited := at > 0 && start.Add(at).Before(j.deadline)
	if limited {
		dl = start.Add(at)
	}
	if !j.startAttempt(dl) {
		// Its context ended just now; whoever ended it answers it.
		<-j.f.Done()
		d.release()
		return
	}
	j.attempt++
	d.attempts.Add(1)
	if limited {
		j.mu.Lock()
		j.attemptT = d.ex.jobTimers.arm(j, at, true)
		j.mu.Unlock()
	}
	w.running.Store(j)
	var exited bool
	defer func() {
		if exited {
			// fn called runtime.Goexit: this goroutine is ending and its
			// mailbox run with it. Answer the job, then have the worker
			// replaced by a new actor.
			w.running.Store(nil)
			d.settle(j, nil, &messages.PanicError{Value: errGoexit}, true, start, d.ex.monoNow(), false, j.endedBy() != nil)
			go w.replace()
		}
	}()
	v, err, panicked := call(j, &exited)
	w.running.Store(nil)
	if limited {
		j.mu.Lock()
		t := j.attemptT
		j.attemptT = nil
		j.mu.Unlock()
		d.ex.jobTimers.disarm(t)
	}
	// The attempt is over: its context ends, as a per-attempt context's
	// cancel would end it. It reports whether the attempt timer ended it.
	aerr, ended := j.closeAttempt()
	timedOut := aerr == context.DeadlineExceeded && ended == nil
	end := d.ex.monoNow()
	w.lastDone = end
	d.settle(j, v, err, panicked, start, end, timedOut, ended != nil)
}

// replace retires a worker whose goroutine runtime.Goexit ended, leaving
// its mailbox stuck, and asks the supervisor for a new one in its place.
func (w *worker) replace() {
	d := w.dep
	sys := d.ex.system
	old := w.pid.Load()
	sys.ProcessRegistry.Remove(old)
	d.ex.actors.Add(-1)
	if p, ok := sys.ProcessRegistry.Get(d.pids.supervisor); ok {
		p.SendSystemMessage(d.pids.supervisor, &actor.Terminated{Who: old})
	}
	w.started = false // the new actor starts idle
	d.root.Send(d.pids.supervisor, supervisor.Replace{Name: workerName(w.id)})
}

var errGoexit = fmt.Errorf("runtime.Goexit called by the job")

// call runs the job's function, turning a panic into a *PanicError. If it
// calls runtime.Goexit, which cannot be stopped, call sets *exited and
// does not return.
func call(j *job, exited *bool) (v any, err error, panicked bool) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if r := recover(); r != nil {
			v, err, panicked = nil, &messages.PanicError{Value: r, Stack: debug.Stack()}, true
			return
		}
		*exited = true
	}()
	v, err = j.fn.run(j)
	returned = true
	return v, err, false
}
