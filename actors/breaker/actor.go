package breaker

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/messages"
)

// View is what a breaker actor publishes after every message: the
// machine's snapshot plus two facts callers need on the hot path. A View
// is immutable; callers load the latest one with Core.View.
type View struct {
	Snapshot
	// FastSuccess says that a success under a CLOSED permit of this
	// generation cannot change the state, so callers need not report it:
	// the breaker is CLOSED or Disabled with no failure run and no rate
	// rule.
	FastSuccess bool
	// ProbesFull says that HALF_OPEN has no probe permit left.
	ProbesFull bool
}

// Gate holds the jobs waiting for a HALF_OPEN probe permit. The executor
// implements it; the breaker actor calls it, one method at a time.
type Gate interface {
	// NextWaiting removes and returns the next waiting job.
	NextWaiting() (ticket any, ok bool)
	// Admit hands a waiting job its permit.
	Admit(ticket any, p Permit)
	// Refuse turns a waiting job away; v is the view that refused it.
	Refuse(ticket any, v *View)
}

// Hooks connect a breaker actor to its owner. Every hook runs inside the
// actor and must not block.
type Hooks struct {
	// OnTransition is called after each change of state.
	OnTransition func(t Transition, v *View)
	// Gate holds jobs waiting for probe permits. Required.
	Gate Gate
	// Fault, if set, is called with each message before it is handled; a
	// panic in it crashes the actor, for fault drills.
	Fault func(msg any)
	// Timers counts pending timers; Actors counts live actor instances.
	// Either may be nil.
	Timers, Actors *atomic.Int64
}

// Core is one breaker's state: the Machine and its timer. It outlives any
// one actor instance, so a crash and restart of the actor keeps the
// breaker's state. Only the actor mutates it; View is safe for concurrent
// use.
type Core struct {
	machine *Machine
	hooks   Hooks
	view    atomic.Pointer[View]

	root *actor.RootContext
	self *actor.PID

	timer   *time.Timer
	timerAt time.Time
	stopped bool

	unexpected atomic.Uint64
}

// NewCore wraps m. The actor must be spawned with Producer before use.
func NewCore(m *Machine, h Hooks) *Core {
	c := &Core{machine: m, hooks: h}
	c.publish(time.Now())
	return c
}

// View returns the latest published view. Safe for concurrent use.
func (c *Core) View() *View { return c.view.Load() }

// Unexpected counts messages the actor did not understand.
func (c *Core) Unexpected() uint64 { return c.unexpected.Load() }

// Producer returns the actor producer; every instance shares this Core.
func (c *Core) Producer() actor.Producer {
	return func() actor.Actor { return &Actor{core: c} }
}

// Actor is the breaker actor: the single writer of its Core.
type Actor struct{ core *Core }

// Receive handles one message.
func (a *Actor) Receive(ctx actor.Context) {
	c := a.core
	msg := ctx.Message()
	switch msg.(type) {
	case *actor.Started:
		if c.self == nil {
			c.root, c.self = ctx.ActorSystem().Root, ctx.Self()
		}
		gauge(c.hooks.Actors, 1)
		c.after(time.Now())
		return
	case *actor.Restarting:
		gauge(c.hooks.Actors, -1)
		return
	case *actor.Stopping:
		return
	case *actor.Stopped:
		gauge(c.hooks.Actors, -1)
		c.stopTimer()
		c.stopped = true
		return
	}
	defer c.salvage(msg)
	if c.hooks.Fault != nil {
		c.hooks.Fault(msg)
	}
	now := time.Now()
	switch m := msg.(type) {
	case messages.Report:
		c.transition(c.machine.ReportOutcome(now, m.Permit, m.Outcome, m.Elapsed))
	case messages.ProbeWanted:
		c.grantProbes(now)
	case messages.BreakerTick:
		c.transition(c.machine.Tick(now))
	case messages.Control:
		var t Transition
		switch m.Op {
		case messages.OpForceOpen:
			t = c.machine.ForceOpen(now)
		case messages.OpDisable:
			t = c.machine.Disable(now)
		default:
			t = c.machine.Reset(now)
		}
		c.transition(t)
		if m.Done != nil {
			select {
			case m.Done <- c.machine.State():
			default:
			}
		}
	default:
		c.unexpected.Add(1)
	}
	c.after(now)
}

// salvage re-sends the message being handled if the handler panics, so a
// crash loses no outcome and no wake-up, then lets the panic through to
// the supervisor.
func (c *Core) salvage(msg any) {
	if r := recover(); r != nil {
		c.root.Send(c.self, msg)
		panic(r)
	}
}

func (c *Core) grantProbes(now time.Time) {
	c.transition(c.machine.Tick(now))
	for {
		ticket, ok := c.hooks.Gate.NextWaiting()
		if !ok {
			return
		}
		d := c.machine.Allow(now)
		c.transition(d.Transition)
		if d.Allowed {
			c.hooks.Gate.Admit(ticket, d.Permit)
			continue
		}
		c.publish(now)
		c.hooks.Gate.Refuse(ticket, c.View())
	}
}

func (c *Core) transition(t Transition) {
	if !t.Changed() || c.hooks.OnTransition == nil {
		return
	}
	c.publish(t.At)
	c.hooks.OnTransition(t, c.View())
}

// after publishes the view and arms the timer for the next time-driven
// transition.
func (c *Core) after(now time.Time) {
	c.publish(now)
	at, ok := c.machine.NextTick()
	if !ok || c.stopped {
		c.stopTimer()
		return
	}
	if c.timer != nil && at.Equal(c.timerAt) {
		return
	}
	c.stopTimer()
	c.timerAt = at
	gauge(c.hooks.Timers, 1)
	root, self := c.root, c.self
	c.timer = time.AfterFunc(at.Sub(now), func() {
		gauge(c.hooks.Timers, -1)
		root.Send(self, messages.BreakerTick{})
	})
}

func (c *Core) stopTimer() {
	if c.timer != nil && c.timer.Stop() {
		gauge(c.hooks.Timers, -1)
	}
	c.timer = nil
}

func (c *Core) publish(now time.Time) {
	s := c.machine.Snapshot(now)
	p := c.machine.p
	v := &View{Snapshot: s}
	v.FastSuccess = (s.State == messages.Closed || s.State == messages.Disabled) &&
		s.ConsecutiveFailures == 0 && p.FailureRateThreshold == 0 && p.SlowCallRateThreshold == 0
	v.ProbesFull = s.State == messages.HalfOpen && s.ProbesInFlight >= p.HalfOpenProbes
	c.view.Store(v)
}

func gauge(g *atomic.Int64, d int64) {
	if g != nil {
		g.Add(d)
	}
}
