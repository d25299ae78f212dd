package breaker

import (
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/internal/actorkit"
	"github.com/warden-go/warden/messages"
)

// Waiter is a call waiting for a HALF_OPEN probe permit. The breaker
// actor calls exactly one of its methods, from inside the actor: neither
// may block.
type Waiter interface {
	// Granted hands over a probe permit. A waiter that no longer wants it
	// must still hand it back with Actor.Report (messages.Ignored).
	Granted(p Permit)
	// Refused says no permit is left; v is the view that refused it.
	Refused(v *View)
}

// Control is a manual breaker operation.
type Control uint8

const (
	// Reset closes the breaker and clears its failure run and window.
	Reset Control = iota
	// ForceOpen rejects every call until Reset.
	ForceOpen
	// Disable admits every call and never trips, until Reset.
	Disable
)

var controlNames = [...]string{"reset", "force-open", "disable"}

// String returns the operation's name.
func (c Control) String() string {
	if int(c) < len(controlNames) {
		return controlNames[c]
	}
	return fmt.Sprintf("control(%d)", uint8(c))
}

// Valid reports whether c is one of the operations above.
func (c Control) Valid() bool { return c <= Disable }

// openFor and halfOpen are the operations of OpenFor and HalfOpen,
// which carry a duration and a count.
const (
	openFor  Control = 255
	halfOpen Control = 254
)

// An ActorOption configures NewActor.
type ActorOption interface{ apply(*actorConfig) }

type actorConfig struct {
	seed         uint64
	seeded       bool
	onTransition func(Transition, *View)
	actors       *atomic.Int64
	timers       *atomic.Int64
}

type actorOption func(*actorConfig)

func (f actorOption) apply(c *actorConfig) { f(c) }

// WithActorSeed seeds the open-period jitter; by default the seed comes
// from the name, so breakers of different names do not probe in step.
func WithActorSeed(seed uint64) ActorOption {
	return actorOption(func(c *actorConfig) { c.seed, c.seeded = seed, true })
}

// WithActorOnTransition calls fn inside the actor after each change of
// state, with the view about to be published for it (callers see it once
// fn returns). fn must not block; a panic in it crashes the actor, which
// its supervisor restarts with the breaker's state intact.
func WithActorOnTransition(fn func(Transition, *View)) ActorOption {
	return actorOption(func(c *actorConfig) { c.onTransition = fn })
}

// WithActorGauges keeps counts of the live actor instances and of the
// pending timers in the given counters, which may be shared by many
// actors.
func WithActorGauges(actors, timers *atomic.Int64) ActorOption {
	return actorOption(func(c *actorConfig) { c.actors, c.timers = actors, timers })
}

// Actor is a breaker actor and the handle callers use to talk to it: the
// actor is the single writer of one Machine and publishes a View after
// every change; callers admit with View().Admit, report with Report and
// ask for probes with RequestProbe. Its state lives in the Actor, not in
// the protoactor instance, so a crash and restart keeps it. Spawn it once,
// from Props, in any actor system. Its methods are safe for concurrent
// use.
type Actor struct {
	cfg     actorConfig
	machine *Machine // the actor's alone
	view    atomic.Pointer[View]

	seq          atomic.Uint64 // orders reports by the end of their calls
	failuresSent atomic.Uint64
	failuresSeen uint64 // the actor's

	name  string
	gate  actorkit.Gate
	alarm actorkit.Alarm // for the next time-driven transition
}

type (
	reportMsg  struct{ r Report }
	probeMsg   struct{ w Waiter }
	controlMsg struct {
		op      Control
		openFor time.Duration         // for openFor
		probes  int                   // for halfOpen
		reason  string                // for openFor and halfOpen
		reply   chan<- messages.State // capacity 1
	}
	tickMsg struct{}
)

// NewActor returns a breaker actor for a valid policy; an invalid one
// returns an error matching messages.ErrInvalidPolicy.
func NewActor(name string, p Policy, opts ...ActorOption) (*Actor, error) {
	a := &Actor{name: name}
	for _, o := range opts {
		o.apply(&a.cfg)
	}
	if !a.cfg.seeded {
		a.cfg.seed = maphash.String(maphash.MakeSeed(), name)
	}
	m, err := NewMachine(p, a.cfg.seed)
	if err != nil {
		return nil, err
	}
	a.machine = m
	a.alarm.Timers = a.cfg.timers
	a.publish(time.Now())
	return a, nil
}

// Props returns the props to spawn the actor with; every instance it
// makes (after a restart too) shares this Actor's state.
func (a *Actor) Props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &instance{a: a} })
}

// Ready is closed once the actor has started; until then nothing sent to
// it arrives (Report, RequestProbe and Control report false).
func (a *Actor) Ready() <-chan struct{} { return a.gate.Ready() }

// View returns the latest published view.
func (a *Actor) View() *View { return a.view.Load() }

// Report hands the outcome of a call made under p to the breaker, unless
// it needs none (View.NeedsReport). It never blocks.
func (a *Actor) Report(p Permit, o messages.Outcome, elapsed time.Duration) {
	// A failure is counted before it is ordered, and a success looks at
	// the count after its call ended: a success that finds no failure
	// outstanding ended before any failure still to come.
	if o == messages.Failure {
		a.failuresSent.Add(1)
	} else if !a.View().NeedsReport(p, o, a.failuresSent.Load()) {
		return
	}
	a.gate.Send(reportMsg{Report{Permit: p, Outcome: o, Elapsed: elapsed, Seq: a.seq.Add(1)}})
}

// RequestProbe asks for a HALF_OPEN probe permit for w, which the actor
// grants or refuses. It reports false, and calls neither, once the actor
// is closed.
func (a *Actor) RequestProbe(w Waiter) bool { return a.gate.Send(probeMsg{w}) }

// Control asks for a manual operation; reply, which needs room for one
// value, receives the resulting state. It reports false once the actor is
// closed.
func (a *Actor) Control(op Control, reply chan<- messages.State) bool {
	return a.gate.Send(controlMsg{op: op, reply: reply})
}

// OpenFor asks for the breaker to open for d (see Machine.OpenFor), with
// reason as its transition's reason; reply, which needs room for one
// value, receives the resulting state. It reports false once the actor is
// closed.
func (a *Actor) OpenFor(d time.Duration, reason string, reply chan<- messages.State) bool {
	return a.gate.Send(controlMsg{op: openFor, openFor: d, reason: reason, reply: reply})
}

// HalfOpen asks for the breaker to go HALF_OPEN with at most probes
// probes at once (see Machine.HalfOpen); reply and the result are as for
// OpenFor.
func (a *Actor) HalfOpen(probes int, reason string, reply chan<- messages.State) bool {
	return a.gate.Send(controlMsg{op: halfOpen, probes: probes, reason: reason, reply: reply})
}

// Close stops all sending to the actor, so a stopped actor gets no dead
// letters; stop the actor after it.
func (a *Actor) Close() { a.gate.Close() }

// instance is one protoactor incarnation of an Actor.
type instance struct{ a *Actor }

// Receive handles one message.
func (in *instance) Receive(ctx actor.Context) {
	a := in.a
	msg := ctx.Message()
	switch msg.(type) {
	case *actor.Started:
		a.gate.Bind(ctx)
		actorkit.Add(a.cfg.actors, 1)
		a.after(time.Now())
		return
	case *actor.Restarting:
		actorkit.Add(a.cfg.actors, -1)
		return
	case *actor.Stopping:
		return
	case *actor.Stopped:
		actorkit.Add(a.cfg.actors, -1)
		a.Close()
		a.alarm.Stop()
		return
	}
	defer a.salvage(ctx, msg)
	now := time.Now()
	switch m := msg.(type) {
	case reportMsg:
		a.transition(a.machine.Record(now, m.r))
		if m.r.Outcome == messages.Failure {
			// Counted once handled: a crash in the transition's listener
			// re-delivers the report, which is then stale.
			a.failuresSeen++
		}
	case probeMsg:
		a.grantProbe(now, m.w)
	case tickMsg:
		a.transition(a.machine.Tick(now))
	case controlMsg:
		a.control(now, m)
	default:
		ctx.Logger().Warn("warden: breaker actor got an unexpected message", "type", fmt.Sprintf("%T", msg))
	}
	a.after(now)
}

func (a *Actor) control(now time.Time, m controlMsg) {
	switch m.op {
	case ForceOpen:
		a.transition(a.machine.ForceOpen(now))
	case Disable:
		a.transition(a.machine.Disable(now))
	case Reset:
		a.transition(a.machine.Reset(now))
	case openFor:
		a.transition(a.machine.OpenFor(now, m.openFor, m.reason))
	case halfOpen:
		a.transition(a.machine.HalfOpen(now, m.probes, m.reason))
	}
	if m.reply != nil {
		select {
		case m.reply <- a.machine.State():
		default:
		}
	}
}

// salvage re-sends the message being handled if handling it panics, so a
// crash loses no outcome, waiter or control, then lets the panic through
// to the supervisor.
func (a *Actor) salvage(ctx actor.Context, msg any) {
	if r := recover(); r != nil {
		ctx.ActorSystem().Root.Send(ctx.Self(), msg)
		panic(r)
	}
}

func (a *Actor) grantProbe(now time.Time, w Waiter) {
	d := a.machine.Allow(now)
	a.transition(d.Transition)
	a.publish(now) // a permit taken or refused: callers see it
	if d.Allowed {
		w.Granted(d.Permit)
		return
	}
	w.Refused(a.View())
}

// transition tells the listener of a change, then publishes it: if the
// listener crashes the actor, callers keep the view of before until the
// restarted actor handles the message again.
func (a *Actor) transition(t Transition) {
	if !t.Changed() {
		return
	}
	v := a.makeView(t.At)
	if a.cfg.onTransition != nil {
		a.cfg.onTransition(t, v)
	}
	a.view.Store(v)
}

// after publishes the view and arms the timer for the next time-driven
// transition.
func (a *Actor) after(now time.Time) {
	a.publish(now)
	if at, ok := a.machine.NextTick(); ok {
		a.alarm.Set(now, at, func() { a.gate.Send(tickMsg{}) })
	} else {
		a.alarm.Stop()
	}
}

func (a *Actor) publish(now time.Time) { a.view.Store(a.makeView(now)) }

func (a *Actor) makeView(now time.Time) *View {
	p := a.machine.p
	v := &View{
		Snapshot:       a.machine.Snapshot(now),
		Name:           a.name,
		HalfOpenProbes: p.HalfOpenProbes,
		everyOutcome:   p.FailureRateThreshold > 0 || p.SlowCallRateThreshold > 0,
		failuresSeen:   a.failuresSeen,
	}
	if !v.everyOutcome {
		// Without a rate rule, outcomes that change nothing are not
		// reported, so the window holds no rate worth showing.
		v.FailureRate, v.SlowRate = 0, 0
	}
	return v
}
