// Package actorkit holds what Warden's actors share: a gate that orders
// the sends to an actor against its stop, so a stopped actor gets no dead
// letters, and an alarm, one timer set for the next instant an actor must
// wake at.
package actorkit

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Gate is the way in to one actor. Until the actor has started (Bind)
// and after Close, Send sends nothing. The zero value is a gate for an
// actor not yet started; a Gate must not be copied. It is safe for
// concurrent use.
type Gate struct {
	mu     sync.RWMutex
	closed bool
	root   *actor.RootContext
	self   *actor.PID
	ready  chan struct{} // made by Ready before Bind, let go by Bind
}

// started is the Ready of every gate already bound.
var started = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Bind records the actor's PID at its first start; later starts (after a
// restart) change nothing.
func (g *Gate) Bind(ctx actor.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.self == nil {
		g.root, g.self = ctx.ActorSystem().Root, ctx.Self()
		if g.ready != nil {
			close(g.ready)
			g.ready = nil
		}
	}
}

// Ready is closed once the actor has started.
func (g *Gate) Ready() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.self != nil {
		return started
	}
	if g.ready == nil {
		g.ready = make(chan struct{})
	}
	return g.ready
}

// Send sends msg to the actor; it reports false, and sends nothing, before
// the actor started or once the gate is closed. It never blocks.
func (g *Gate) Send(msg any) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed || g.self == nil {
		return false
	}
	g.root.Send(g.self, msg)
	return true
}

// Close stops all sending; stop the actor after it.
func (g *Gate) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// Alarm is one timer that calls fire at the next instant set. It belongs
// to one actor and is not safe for concurrent use; fire runs on a timer
// goroutine of its own. Timers, if not nil, counts the pending timer.
type Alarm struct {
	Timers *atomic.Int64
	timer  *time.Timer
	at     time.Time
	fired  *atomic.Bool // the current timer's
}

// Set makes the alarm fire at at, unless it is already set for at and
// has not fired yet.
func (a *Alarm) Set(now, at time.Time, fire func()) {
	if a.timer != nil && at.Equal(a.at) && !a.fired.Load() {
		return
	}
	a.Stop()
	a.at = at
	Add(a.Timers, 1)
	timers, fired := a.Timers, new(atomic.Bool)
	a.fired = fired
	a.timer = time.AfterFunc(at.Sub(now), func() {
		fired.Store(true)
		Add(timers, -1)
		fire()
	})
}

// Stop stops the alarm if it is set; a timer that fired already counted
// itself out.
func (a *Alarm) Stop() {
	if a.timer != nil && a.timer.Stop() {
		Add(a.Timers, -1)
	}
	a.timer = nil
}

// Add adds d to the gauge g, if there is one.
func Add(g *atomic.Int64, d int64) {
	if g != nil {
		g.Add(d)
	}
}
