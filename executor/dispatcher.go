package executor

import (
	"sync"
	"sync/atomic"
)

// dispatcher runs actors' mailbox runs. It hands each run over an
// unbuffered channel to an idle long-lived goroutine and starts a new
// goroutine only when none is idle, which saves the stack growth of a fresh
// goroutine per run (protoactor's default). Unbuffered matters: a run never
// waits behind another run stuck in a long job. At most maxIdle goroutines
// wait for work; the rest exit when their run ends.
type dispatcher struct {
	handoff chan func() // unbuffered: a run goes only to a goroutine ready for it
	stop    chan struct{}
	idle    atomic.Int32
	maxIdle int32
	wg      sync.WaitGroup

	mu     sync.Mutex // guards closed against wg.Add racing wg.Wait
	closed bool
}

func newDispatcher(maxIdle int) *dispatcher {
	return &dispatcher{handoff: make(chan func()), stop: make(chan struct{}), maxIdle: int32(maxIdle)}
}

// Schedule implements actor.Dispatcher.
func (d *dispatcher) Schedule(fn func()) {
	select {
	case d.handoff <- fn:
		return
	default:
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		go fn() // a late run, such as a timer's message after shutdown
		return
	}
	d.wg.Add(1)
	d.mu.Unlock()
	go d.loop(fn)
}

// Throughput implements actor.Dispatcher: messages per mailbox run before
// the run yields its goroutine.
func (d *dispatcher) Throughput() int { return 300 }

func (d *dispatcher) loop(fn func()) {
	defer d.wg.Done()
	for {
		fn()
		if d.idle.Add(1) > d.maxIdle {
			d.idle.Add(-1)
			return
		}
		select {
		case fn = <-d.handoff:
			d.idle.Add(-1)
		case <-d.stop:
			d.idle.Add(-1)
			return
		}
	}
}

// close makes idle goroutines exit and waits for every goroutine to end.
// Runs scheduled afterwards still run, each on a goroutine of its own.
func (d *dispatcher) close() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.stop)
	}
	d.mu.Unlock()
	d.wg.Wait()
}
