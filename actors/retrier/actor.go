package retrier

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/messages"
)

// Hooks connect a retrier actor to its owner.
type Hooks struct {
	// OnDue is called inside the actor for each job whose backoff is over:
	// the owner passes it through the breaker gate again and dispatches it.
	// It runs under the Core's lock, so it must not block or call back
	// into the Core. Required.
	OnDue func(ticket any)
	// Fault, if set, is called with each message before it is handled; a
	// panic in it crashes the actor, for fault drills.
	Fault func(msg any)
	// Timers counts pending timers; Actors counts live actor instances.
	// Either may be nil.
	Timers, Actors *atomic.Int64
}

type request struct {
	ticket any
	delay  time.Duration
}

type pending struct {
	core   *Core
	ticket any
	timer  *time.Timer
}

func (p *pending) fire() { p.core.fire(p.ticket, p) }

// Core holds one dependency's retries: those requested, those waiting on
// a timer (one timer each, no goroutine) and those due. Jobs wait here,
// never inside actor messages, so a crash or stop of the actor loses none.
// It outlives any one actor instance. Its methods are safe for concurrent
// use.
type Core struct {
	hooks Hooks
	wake  func()
	// woken is set while a wake-up is queued, so that a burst of requests
	// and timer fires queues one wake-up, not one each.
	woken atomic.Bool

	mu        sync.Mutex
	closed    bool
	requested []request
	timers    map[any]*pending // by ticket: one pending retry per job
	due       []any

	unexpected atomic.Uint64
}

// NewCore returns an empty Core. wake must send messages.RetryWake to the
// retrier actor; it is called outside any lock.
func NewCore(h Hooks, wake func()) *Core {
	return &Core{hooks: h, wake: wake, timers: map[any]*pending{}}
}

// Request asks for ticket to be retried after delay. It reports false, and
// keeps nothing, once the Core is closed; the caller still owns the job.
func (c *Core) Request(ticket any, delay time.Duration) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.requested = append(c.requested, request{ticket: ticket, delay: delay})
	c.mu.Unlock()
	c.poke()
	return true
}

// Cancel withdraws ticket's retry if it is still requested or waiting on
// its timer, and reports whether it did; the caller then owns the job. A
// retry already due is left for the actor, which finds the job finished.
func (c *Core) Cancel(ticket any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.timers[ticket]; ok {
		c.stop(p)
		delete(c.timers, ticket)
		return true
	}
	for i, r := range c.requested {
		if r.ticket == ticket {
			c.requested = append(c.requested[:i], c.requested[i+1:]...)
			return true
		}
	}
	return false
}

// Close refuses further requests, stops every timer and returns every job
// it held, which the caller then owns.
func (c *Core) Close() []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var out []any
	for _, r := range c.requested {
		out = append(out, r.ticket)
	}
	for t, p := range c.timers {
		c.stop(p)
		out = append(out, t)
	}
	out = append(out, c.due...)
	c.requested, c.due = nil, nil
	clear(c.timers)
	return out
}

// Pending returns the number of retries held: requested, waiting or due.
func (c *Core) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.requested) + len(c.timers) + len(c.due)
}

// Unexpected counts messages the actor did not understand.
func (c *Core) Unexpected() uint64 { return c.unexpected.Load() }

// Producer returns the actor producer; every instance shares this Core.
func (c *Core) Producer() actor.Producer {
	return func() actor.Actor { return &Actor{core: c} }
}

// poke queues a wake-up for the actor unless one is queued already.
func (c *Core) poke() {
	if c.woken.CompareAndSwap(false, true) {
		c.wake()
	}
}

func (c *Core) stop(p *pending) {
	if p.timer.Stop() && c.hooks.Timers != nil {
		c.hooks.Timers.Add(-1)
	}
}

// fire moves ticket from its timer to the due list.
func (c *Core) fire(ticket any, p *pending) {
	if c.hooks.Timers != nil {
		c.hooks.Timers.Add(-1)
	}
	c.mu.Lock()
	if c.timers[ticket] != p { // cancelled, or closed
		c.mu.Unlock()
		return
	}
	delete(c.timers, ticket)
	c.due = append(c.due, ticket)
	c.mu.Unlock()
	c.poke()
}

// arm starts a timer for every requested retry.
func (c *Core) arm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.requested {
		p := &pending{core: c, ticket: r.ticket}
		if c.hooks.Timers != nil {
			c.hooks.Timers.Add(1)
		}
		p.timer = time.AfterFunc(r.delay, p.fire)
		c.timers[r.ticket] = p
	}
	c.requested = c.requested[:0]
}

// deliverOne hands the next due ticket to OnDue. It holds the lock
// throughout, so Close never sees a ticket that is being handed over; if
// OnDue panics, the ticket goes back to the front of the due list.
func (c *Core) deliverOne() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.due) == 0 {
		return false
	}
	t := c.due[0]
	c.due[0] = nil
	c.due = c.due[1:]
	handed := false
	defer func() {
		if !handed {
			c.due = append([]any{t}, c.due...)
		}
	}()
	c.hooks.OnDue(t)
	handed = true
	return true
}

// Actor is the retrier actor: it arms the timers and hands due jobs back.
type Actor struct{ core *Core }

// Receive handles one message.
func (a *Actor) Receive(ctx actor.Context) {
	c := a.core
	msg := ctx.Message()
	switch msg.(type) {
	case *actor.Started:
		gaugeAdd(c.hooks.Actors, 1)
		// Retries requested while the actor was restarting are waiting.
		c.woken.Store(false)
		c.arm()
		c.deliver()
		return
	case *actor.Restarting, *actor.Stopped:
		gaugeAdd(c.hooks.Actors, -1)
		return
	case *actor.Stopping:
		return
	}
	if _, ok := msg.(messages.RetryWake); ok {
		// Before looking, and before anything can crash: requests from now
		// on queue a new wake-up.
		c.woken.Store(false)
	}
	if c.hooks.Fault != nil {
		c.hooks.Fault(msg)
	}
	switch msg.(type) {
	case messages.RetryWake:
		c.arm()
		c.deliver()
	default:
		c.unexpected.Add(1)
	}
}

func (c *Core) deliver() {
	for c.deliverOne() {
	}
}

func gaugeAdd(g *atomic.Int64, d int64) {
	if g != nil {
		g.Add(d)
	}
}
