package executor

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// watchdog is one timer per dependency, set for the earliest watched
// instant of its jobs (see dependency.watch and watchdogFire).
type watchdog struct {
	mu      sync.Mutex
	timer   *time.Timer
	armedAt atomic.Int64 // when the timer fires; MaxInt64 when it is not set
	stopped bool
	running sync.WaitGroup // firings in progress
}

func (w *watchdog) init(d *dependency) {
	w.armedAt.Store(math.MaxInt64)
	w.timer = time.AfterFunc(time.Hour, d.watchdogFire)
	w.timer.Stop()
}

func (w *watchdog) stop() {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
	w.running.Wait()
}

// watchdogFire ends every step that is overdue: an attempt past its
// deadline (its caller gets the retry or the *TimeoutError now, whatever
// fn does; a worker stuck in fn is abandoned and replaced), and a job past
// its deadline while it waits. Then it sleeps until the next deadline.
func (d *dependency) watchdogFire() {
	w := &d.dog
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.running.Add(1)
	w.armedAt.Store(math.MaxInt64)
	w.mu.Unlock()
	defer w.running.Done()

	now, next := d.monoNow(), int64(math.MaxInt64)
	for _, j := range *d.slots.all.Load() {
		due := j.due.Load()
		if due == 0 {
			continue
		}
		if due > now {
			next = min(next, due)
			continue
		}
		d.overdue(j, now)
	}
	if next != math.MaxInt64 {
		w.mu.Lock()
		if !w.stopped && next < w.armedAt.Load() {
			w.armedAt.Store(next)
			w.timer.Reset(time.Duration(next - now))
		}
		w.mu.Unlock()
	}
}

func (d *dependency) overdue(j *job, now int64) {
	s := j.load()
	switch s.phase() {
	case phaseRunning:
		if !j.claim(s, context.DeadlineExceeded) {
			return
		}
		d.abandon(j)
		d.attemptOver()
		d.afterAttempt(j, mkState(s.gen(), s.attempt(), 0, phaseSettling),
			attemptEnd{attempt: s.attempt(), timedOut: true}, now, d.random())
	case phaseQueued, phaseBackoff, phaseProbe:
		// Its fields are read under a reference of the watchdog's own,
		// so the job cannot be recycled meanwhile.
		if !j.tryRef() {
			return
		}
		if j.load() == s && now >= j.deadline {
			j.end(s.gen(), d.jobTimeout(j), outTimedOut)
		}
		j.release()
	case phaseDone:
		// Ended from outside while fn runs: its worker holds the job
		// until fn returns, so while j is still in this state (checked
		// under a reference of the watchdog's own) it is that worker's.
		if s.from() == phaseRunning && j.tryRef() {
			if j.load() == s {
				if d.abandon(j) {
					d.attemptOver()
				}
				j.due.Store(0)
			}
			j.release()
		}
	}
}

// abandon replaces the worker running j's attempt, which has outlived its
// deadline, unless its function has returned meanwhile; it reports
// whether it did. The worker stops when its function returns.
func (d *dependency) abandon(j *job) bool {
	w := j.worker
	if !w.st.CompareAndSwap(j.workerToken<<1, j.workerToken<<1|1) {
		return false
	}
	d.stuck.Add(1)
	d.abandoned.Add(1)
	d.liveWorkers.Add(-1)
	d.startWorker()
	return true
}
