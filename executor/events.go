package executor

import (
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventStateChange: a breaker changed state (From, To, Reason).
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
)

var eventNames = [...]string{"state-change", "retry", "rejected", "restart", "escalation"}

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
}

// eventQueue hands events to the user's function from one goroutine, in
// the order they were emitted. It holds at most max events; past that it
// drops and counts.
type eventQueue struct {
	fn      func(Event)
	max     int
	mu      sync.Mutex
	buf     []Event
	closed  bool
	signal  chan struct{} // capacity 1: a pending wake-up is enough
	done    chan struct{}
	dropped atomic.Uint64
}

func newEventQueue(fn func(Event), max int) *eventQueue {
	if max <= 0 {
		max = 4096
	}
	q := &eventQueue{fn: fn, max: max, signal: make(chan struct{}, 1), done: make(chan struct{})}
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
			q.fn(e)
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

// close delivers what is queued, then stops the goroutine.
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
	<-q.done
}

func (q *eventQueue) droppedCount() uint64 {
	if q == nil {
		return 0
	}
	return q.dropped.Load()
}
