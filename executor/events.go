package executor

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/supervisor"
	"github.com/warden-go/warden/messages"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventStateChange: a breaker changed state (From, To, Reason; for a
	// change to OPEN, Delay is its open period).
	EventStateChange EventKind = iota
	// EventRetry: a retry was scheduled (Attempt just failed with Err;
	// the next starts after Delay).
	EventRetry
	// EventRejected: a job was turned away at once (Err says why:
	// ErrRejected, a *CircuitOpenError, ErrShutdown or ErrDependencyDown).
	EventRejected
	// EventRestart: an actor of the dependency crashed and will be
	// restarted after Delay (Actor, Err).
	EventRestart
	// EventEscalation: the dependency's actors crashed past the restart
	// limit; it is down until registered again (Actor, Err).
	EventEscalation
	// EventJobEnded: an admitted job ended (Operation, Outcome, Attempt:
	// the attempts it made, Duration: from submission to its end, Err:
	// nil on success).
	EventJobEnded
)

var eventNames = [...]string{"state-change", "retry", "rejected", "restart", "escalation", "job-ended"}

// String returns the kind's name, such as "state-change".
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "event?"
}

// Event is something an operator may want to know. Fields that do not
// apply to its Kind are zero.
type Event struct {
	Kind       EventKind
	Dependency string
	At         time.Time
	From, To   State
	Reason     string
	Attempt    int
	Delay      time.Duration
	Actor      string
	Err        error
	// Operation, Outcome and Duration are set for EventJobEnded alone.
	// Outcome is one of succeeded, failed, timed_out, cancelled and
	// panicked, as the outcome attribute of warden.calls.
	Operation string
	Outcome   string
	Duration  time.Duration
}

// eventQueue hands events to the user's function from one goroutine, in
// the order they were emitted. It holds at most max events; past that it
// drops and counts.
type eventQueue struct {
	fns     []func(Event)
	max     int
	mu      sync.Mutex
	buf     []Event
	closed  bool
	signal  chan struct{} // capacity 1: a pending wake-up is enough
	done    chan struct{}
	dropped atomic.Uint64
	panics  atomic.Uint64
	busy    atomic.Bool // a listener call is running
}

func newEventQueue(fns []func(Event), max int) *eventQueue {
	if max <= 0 {
		max = 4096
	}
	q := &eventQueue{fns: fns, max: max, signal: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *eventQueue) emit(e Event) {
	if q == nil {
		return
	}
	q.mu.Lock()
	if q.closed || len(q.buf) >= q.max {
		q.mu.Unlock()
		q.dropped.Add(1)
		return
	}
	q.buf = append(q.buf, e)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) run() {
	defer close(q.done)
	var batch []Event
	for {
		q.mu.Lock()
		batch, q.buf = q.buf, batch[:0]
		closed := q.closed
		q.mu.Unlock()
		for _, e := range batch {
			for _, fn := range q.fns {
				q.deliver(fn, e)
			}
		}
		clear(batch)
		if closed && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			<-q.signal
		}
	}
}

// deliver calls the listener; a panic in it is counted, not spread.
func (q *eventQueue) deliver(fn func(Event), e Event) {
	q.busy.Store(true)
	defer q.busy.Store(false)
	defer func() {
		if recover() != nil {
			q.panics.Add(1)
		}
	}()
	fn(e)
}

// close delivers what is queued, then stops the goroutine and waits for
// it, unless a listener call is running: that one may be the caller (a
// listener that shuts the executor down), so close does not wait for it;
// the goroutine ends when the listener returns.
func (q *eventQueue) close() {
	if q == nil {
		return
	}
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	for {
		select {
		case <-q.done:
			return
		default:
		}
		if q.busy.Load() {
			return
		}
		runtime.Gosched()
	}
}

func (q *eventQueue) counts() (dropped, panics uint64) {
	if q == nil {
		return 0, 0
	}
	return q.dropped.Load(), q.panics.Load()
}

// observer logs what operators need to know and emits it as events.
type observer struct {
	logger *slog.Logger
	q      *eventQueue // nil without a listener
}

func (o *observer) stateChanged(d *dependency, t breaker.Transition, v *breaker.View) {
	attrs := []any{"dependency", d.name, "from", t.From.String(), "to", t.To.String(), "reason", t.Reason}
	switch t.To {
	case messages.Open:
		o.logger.Warn("warden: circuit opened", append(attrs, "open_for", t.OpenFor, "failures", v.TripFailures)...)
	case messages.Closed:
		o.logger.Info("warden: circuit closed", attrs...)
	default:
		o.logger.Info("warden: circuit state changed", attrs...)
	}
	o.q.emit(Event{Kind: EventStateChange, Dependency: d.name, At: t.At, From: t.From, To: t.To, Reason: t.Reason, Delay: t.OpenFor})
}

func (o *observer) retry(d *dependency, j *job, attempt int, delay time.Duration, err error) {
	if o.logger.Enabled(j.parent, slog.LevelDebug) {
		o.logger.DebugContext(j.parent, "warden: retry scheduled", "dependency", d.name, "operation", j.op,
			"attempt", attempt, "delay", delay, "err", err)
	}
	if o.q != nil {
		o.q.emit(Event{Kind: EventRetry, Dependency: d.name, At: time.Now(), Attempt: attempt, Delay: delay, Err: err})
	}
}

// wantsJobEnd says whether a job's end, with err, is logged or emitted:
// then its duration is needed.
func (o *observer) wantsJobEnd(ctx context.Context, err error) bool {
	return o.q != nil || (err != nil && o.logger.Enabled(ctx, slog.LevelDebug))
}

// jobEnded logs a job that ended in an error, at debug level, and emits
// the end of every job.
func (o *observer) jobEnded(d *dependency, j *job, attempts int, dur time.Duration, err error, out outcome) {
	if err != nil && o.logger.Enabled(j.parent, slog.LevelDebug) {
		o.logger.DebugContext(j.parent, "warden: job failed", "dependency", d.name, "operation", j.op,
			"outcome", out.String(), "attempts", attempts, "duration", dur, "err", err)
	}
	if o.q != nil {
		o.q.emit(Event{Kind: EventJobEnded, Dependency: d.name, At: time.Now(), Operation: j.op,
			Outcome: out.String(), Attempt: attempts, Duration: dur, Err: err})
	}
}

// summariseTurnedAway logs, once a second and at debug level, how many
// calls each dependency turned away at once in that second (short
// circuits and rejections), rather than a record per call, until stop is
// closed. The calls' path reads no clock and writes no log for it: the
// counts are the dependency's counters.
func (o *observer) summariseTurnedAway(ex *Executor, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := map[*dependency][2]uint64{}
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		debug := o.logger.Enabled(context.Background(), slog.LevelDebug)
		next := make(map[*dependency][2]uint64, len(last)) // a dependency replaced is forgotten
		for _, d := range *ex.deps.Load() {
			now := [2]uint64{d.counts[outShortCircuited].Load() + d.shed.load(), d.counts[outRejected].Load()}
			prev, seen := last[d]
			next[d] = now
			if !seen || !debug || now == prev {
				continue
			}
			o.logger.Debug("warden: calls turned away", "dependency", d.name, "count", (now[0]-prev[0])+(now[1]-prev[1]),
				"short_circuited", now[0]-prev[0], "rejected", now[1]-prev[1], "period", time.Second)
		}
		last = next
	}
}

func (o *observer) rejected(d *dependency, err error) {
	if o.q != nil {
		o.q.emit(Event{Kind: EventRejected, Dependency: d.name, At: time.Now(), Err: err})
	}
}

func (o *observer) restarted(d *dependency, child string, dec supervisor.Decision, reason any) {
	err := fmt.Errorf("%v", reason)
	o.logger.Warn("warden: actor restarting", "dependency", d.name, "actor", child, "delay", dec.Delay, "crashes", dec.Crashes, "err", err)
	o.q.emit(Event{Kind: EventRestart, Dependency: d.name, At: time.Now(), Actor: child, Delay: dec.Delay, Err: err})
}

func (o *observer) escalated(d *dependency, child string, dec supervisor.Decision, reason any) {
	err := fmt.Errorf("%v", reason)
	o.logger.Error("warden: dependency down, restart limit passed", "dependency", d.name, "actor", child, "crashes", dec.Crashes, "err", err)
	o.q.emit(Event{Kind: EventEscalation, Dependency: d.name, At: time.Now(), Actor: child, Err: err})
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
