package retrier

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/internal/actorkit"
)

// Due is a retry waiting for its time. The retrier actor calls Due once,
// from inside the actor, when the time has come: it must not block.
//
// A Due that embeds a Slot is found on the schedule at once by Expedite;
// any other is searched for, in time linear in the schedule's length.
type Due interface{ Due() }

// Slot, embedded in a pointer type implementing Due, holds the Due's
// place on its actor's schedule, so that Expedite takes it off in time
// logarithmic in the schedule's length. The actor alone writes it. A Due
// is on one actor's schedule at a time.
type Slot struct{ i int32 } // the index on the schedule plus one; 0 when off it

func (s *Slot) slot() *Slot { return s }

type slotted interface{ slot() *Slot }

// An ActorOption configures NewActor.
type ActorOption interface{ apply(*actorConfig) }

type actorConfig struct {
	actors, timers *atomic.Int64
}

type actorOption func(*actorConfig)

func (f actorOption) apply(c *actorConfig) { f(c) }

// WithActorGauges keeps counts of the live actor instances and of the pending
// timers in the given counters, which may be shared by many actors.
func WithActorGauges(actors, timers *atomic.Int64) ActorOption {
	return actorOption(func(c *actorConfig) { c.actors, c.timers = actors, timers })
}

// Actor is a retrier actor and the handle callers use to talk to it: it
// owns the schedule of pending retries, ordered by time, with one timer
// for the earliest (no goroutine and no timer per retry), and calls each
// retry's Due when its time comes. The schedule lives in the Actor, not in
// the protoactor instance, so a crash and restart keeps it. Spawn it
// once, from Props, in any actor system. Its methods are safe for
// concurrent use.
type Actor struct {
	cfg     actorConfig
	pending atomic.Int64
	base    time.Time // the schedule's times are nanoseconds since base

	schedule schedule       // the actor's alone
	alarm    actorkit.Alarm // for the earliest retry
	gate     actorkit.Gate
}

type (
	scheduleMsg struct {
		at  time.Time
		due Due
	}
	expediteMsg struct{ due Due }
	tickMsg     struct{}
)

// NewActor returns a retrier actor with an empty schedule.
func NewActor(opts ...ActorOption) *Actor {
	a := &Actor{base: time.Now()}
	for _, o := range opts {
		o.apply(&a.cfg)
	}
	a.alarm.Timers = a.cfg.timers
	return a
}

// Props returns the props to spawn the actor with; every instance it
// makes (after a restart too) shares this Actor's schedule.
func (a *Actor) Props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &instance{a: a} })
}

// Ready is closed once the actor has started; until then Schedule reports
// false.
func (a *Actor) Ready() <-chan struct{} { return a.gate.Ready() }

// Schedule asks for d.Due to be called at at (at once if it has passed).
// It never blocks; it reports false, and keeps nothing, once the actor is
// closed or before it has started.
func (a *Actor) Schedule(at time.Time, d Due) bool {
	return a.gate.Send(scheduleMsg{at: at, due: d})
}

// Expedite asks for d.Due to be called now if d is still on the
// schedule, taking it off; a d already called, or never scheduled, is
// left alone. d must be comparable (a pointer, say). It never blocks and
// reports false once the actor is closed.
func (a *Actor) Expedite(d Due) bool {
	return a.gate.Send(expediteMsg{due: d})
}

// Pending returns the number of retries on the schedule, not yet due.
func (a *Actor) Pending() int { return int(a.pending.Load()) }

// Close stops all sending to the actor; stop the actor after it. Retries
// still scheduled are dropped when it stops: their owner answers them.
func (a *Actor) Close() { a.gate.Close() }

type instance struct{ a *Actor }

// Receive handles one message.
func (in *instance) Receive(ctx actor.Context) {
	a := in.a
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.gate.Bind(ctx)
		actorkit.Add(a.cfg.actors, 1)
		a.fireDue(time.Now()) // retries that came due while it restarted
	case *actor.Restarting:
		actorkit.Add(a.cfg.actors, -1)
	case *actor.Stopping:
	case *actor.Stopped:
		actorkit.Add(a.cfg.actors, -1)
		a.Close()
		a.alarm.Stop()
		a.pending.Add(-int64(len(a.schedule)))
		a.schedule = nil
	case scheduleMsg:
		a.pending.Add(1)
		e := entry{at: int64(m.at.Sub(a.base)), due: m.due}
		if sl, ok := m.due.(slotted); ok {
			e.slot = sl.slot()
		}
		a.schedule.push(e)
		a.fireDue(time.Now())
	case expediteMsg:
		if i := a.schedule.find(m.due); i >= 0 {
			a.callDue(a.schedule.remove(i))
		}
		a.arm(time.Now())
	case tickMsg:
		a.fireDue(time.Now())
	default:
		ctx.Logger().Warn("warden: retrier actor got an unexpected message", "type", fmt.Sprintf("%T", m))
	}
}

// fireDue calls Due for every retry whose time has come, then arms the
// timer for the earliest left. If a Due panics, its retry goes back on
// the schedule and the panic goes on to the supervisor; the restarted
// actor calls it again.
func (a *Actor) fireDue(now time.Time) {
	t := int64(now.Sub(a.base))
	for len(a.schedule) > 0 && a.schedule[0].at <= t {
		e := a.schedule.pop()
		a.callDue(e)
	}
	a.arm(now)
}

func (a *Actor) callDue(e entry) {
	called := false
	defer func() {
		if !called {
			a.schedule.push(e)
		}
	}()
	e.due.Due()
	called = true
	a.pending.Add(-1)
}

func (a *Actor) arm(now time.Time) {
	if len(a.schedule) == 0 {
		a.alarm.Stop()
		return
	}
	a.alarm.Set(now, a.base.Add(time.Duration(a.schedule[0].at)), func() { a.gate.Send(tickMsg{}) })
}

type entry struct {
	at   int64 // nanoseconds since the actor's base
	due  Due
	slot *Slot // due's, if it has one
}

// schedule is a min-heap of entries by time. Its methods are typed, not
// container/heap's, whose Push and Pop box every entry in an interface:
// an allocation each per retry.
type schedule []entry

func (s schedule) less(i, j int) bool { return s[i].at < s[j].at }

// swap swaps entries i and j, and their slots.
func (s schedule) swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s.place(i)
	s.place(j)
}

// place records in entry i's slot, if it has one, that it is at i.
func (s schedule) place(i int) {
	if sl := s[i].slot; sl != nil {
		sl.i = int32(i + 1)
	}
}

func (s *schedule) push(e entry) {
	*s = append(*s, e)
	s.place(len(*s) - 1)
	s.up(len(*s) - 1)
}

// find returns d's index, or -1 if d is not on the schedule.
func (s schedule) find(d Due) int {
	if sl, ok := d.(slotted); ok {
		if i := int(sl.slot().i) - 1; i >= 0 && i < len(s) && s[i].due == d {
			return i
		}
		return -1
	}
	for i, e := range s {
		if e.due == d {
			return i
		}
	}
	return -1
}

// pop takes the earliest entry off; s must not be empty.
func (s *schedule) pop() entry {
	return s.remove(0)
}

// remove takes entry i off.
func (s *schedule) remove(i int) entry {
	h := *s
	n := len(h) - 1
	e := h[i]
	if e.slot != nil {
		e.slot.i = 0
	}
	h[i] = h[n]
	h[n] = entry{}
	*s = h[:n]
	if i < n {
		s.place(i)
		s.down(i)
		s.up(i)
	}
	return e
}

func (s schedule) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			return
		}
		s.swap(i, parent)
		i = parent
	}
}

func (s schedule) down(i int) {
	for {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(s) && s.less(l, least) {
			least = l
		}
		if r < len(s) && s.less(r, least) {
			least = r
		}
		if least == i {
			return
		}
		s.swap(i, least)
		i = least
	}
}
