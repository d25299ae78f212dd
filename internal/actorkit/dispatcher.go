package actorkit

import (
	"sync"
)

// Dispatcher runs actors' mailbox runs (an actor.Dispatcher) on
// long-lived goroutines. protoactor's default dispatcher starts a
// goroutine for every run, that is every time an idle actor gets a
// message, and most of that run's cost is then the new goroutine's stack
// growing; a goroutine that stays keeps its grown stack. A run goes to an
// idle goroutine if one waits; if none does, to a new one while fewer than
// max live, otherwise to a goroutine of its own, as by default. Handing
// over without a queue means no run waits behind another. Close ends the
// goroutines; runs scheduled after it get a goroutine of their own.
type Dispatcher struct {
	runs       chan func() // unbuffered: taken only by an idle goroutine
	done       chan struct{}
	throughput int
	max        int

	mu     sync.Mutex
	live   int
	closed bool
	wg     sync.WaitGroup
}

// NewDispatcher returns a dispatcher of at most max long-lived goroutines
// whose runs take up to throughput messages each before yielding.
func NewDispatcher(max, throughput int) *Dispatcher {
	return &Dispatcher{runs: make(chan func()), done: make(chan struct{}), max: max, throughput: throughput}
}

// Schedule runs fn, a mailbox run, on another goroutine.
func (d *Dispatcher) Schedule(fn func()) {
	select {
	case d.runs <- fn:
		return
	default:
	}
	d.mu.Lock()
	if d.closed || d.live >= d.max {
		d.mu.Unlock()
		go fn()
		return
	}
	d.live++
	d.wg.Add(1)
	d.mu.Unlock()
	go d.serve(fn)
}

// Throughput is the number of messages a run takes before it yields.
func (d *Dispatcher) Throughput() int { return d.throughput }

func (d *Dispatcher) serve(fn func()) {
	defer d.wg.Done()
	for {
		fn()
		select {
		case fn = <-d.runs:
		case <-d.done:
			d.mu.Lock()
			d.live--
			d.mu.Unlock()
			return
		}
	}
}

// Live is the number of long-lived goroutines.
func (d *Dispatcher) Live() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live
}

// Close ends the long-lived goroutines once their runs are over, and
// waits for them. It is idempotent.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.done)
	}
	d.mu.Unlock()
	d.wg.Wait()
}
