package supervisor

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Child is one actor the supervisor starts and watches over.
type Child struct {
	// Name is unique among the supervisor's children.
	Name  string
	Props *actor.Props
}

// Hooks connect a supervisor actor to its owner. They run inside the
// supervisor actor and must not block.
type Hooks struct {
	// OnStarted receives the children's PIDs once all are spawned.
	OnStarted func(pids map[string]*actor.PID)
	// OnRestart is called for each crash that will be restarted.
	OnRestart func(child string, d Decision, reason any)
	// OnEscalate is called once, for the crash past the limit; the
	// supervisor then stops every child.
	OnEscalate func(child string, d Decision, reason any)
	// OnStopped is called when the supervisor has stopped, after its
	// children.
	OnStopped func()
	// OnReplaced receives the PID of a child spawned again by Replace.
	OnReplaced func(child string, pid *actor.PID)
	// Timers counts pending restart timers; Actors counts live actor
	// instances. Either may be nil.
	Timers, Actors *atomic.Int64
}

// Actor supervises a fixed set of children with restart intensity: it
// decides each crash with an Intensity shared by all its children, as an
// Erlang/OTP supervisor does, restarts after the decided delay, and past
// the limit escalates to its owner and stops the children.
type Actor struct {
	children  []Child
	hooks     Hooks
	intensity *Intensity
	rng       *rand.Rand

	names     map[string]string // PID id -> child name
	escalated bool

	mu     sync.Mutex
	timers map[*time.Timer]struct{}
}

// New returns the supervisor's props for a valid policy; an invalid one
// returns an error matching messages.ErrInvalidPolicy.
func New(p Policy, children []Child, h Hooks) (*actor.Props, error) {
	in, err := NewIntensity(p)
	if err != nil {
		return nil, err
	}
	a := &Actor{
		children:  children,
		hooks:     h,
		intensity: in,
		rng:       rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		names:     map[string]string{},
		timers:    map[*time.Timer]struct{}{},
	}
	// The supervisor keeps its crash history across its own restarts, so
	// the producer hands out the same instance.
	return actor.PropsFromProducer(func() actor.Actor { return a }), nil
}

// Replace asks a supervisor to spawn its child Name again. The owner
// sends it after removing a child that can never run again (its goroutine
// was ended by runtime.Goexit) from the process registry and reporting it
// terminated.
type Replace struct{ Name string }

// Receive starts the children, replaces lost ones and stops restart timers
// on the way out.
func (a *Actor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case Replace:
		for _, c := range a.children {
			if c.Name != m.Name || a.escalated {
				continue
			}
			pid, err := ctx.SpawnNamed(c.Props, c.Name)
			if err != nil {
				return // stopping, or the old child is still registered
			}
			a.names[pid.Id] = c.Name
			if a.hooks.OnReplaced != nil {
				a.hooks.OnReplaced(c.Name, pid)
			}
		}
	case *actor.Started:
		gaugeAdd(a.hooks.Actors, 1)
		if len(a.names) > 0 {
			return // restarted: the children are still there
		}
		pids := make(map[string]*actor.PID, len(a.children))
		for _, c := range a.children {
			pid, err := ctx.SpawnNamed(c.Props, c.Name)
			if err != nil {
				// Names are unique by construction; a clash is a bug.
				panic(err)
			}
			a.names[pid.Id] = c.Name
			pids[c.Name] = pid
		}
		if a.hooks.OnStarted != nil {
			a.hooks.OnStarted(pids)
		}
	case *actor.Stopping:
		a.stopTimers()
	case *actor.Restarting:
		gaugeAdd(a.hooks.Actors, -1)
	case *actor.Stopped:
		gaugeAdd(a.hooks.Actors, -1)
		a.stopTimers()
		if a.hooks.OnStopped != nil {
			a.hooks.OnStopped()
		}
	}
}

// HandleFailure decides a child's crash. protoactor calls it inside this
// actor, so it needs no lock for the intensity.
func (a *Actor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	name := a.names[child.Id]
	if a.escalated {
		sup.StopChildren(child)
		return
	}
	d := a.intensity.Crash(time.Now(), a.rng.Float64())
	if d.Action == Escalate {
		a.escalated = true
		a.stopTimers()
		if a.hooks.OnEscalate != nil {
			a.hooks.OnEscalate(name, d, reason)
		}
		sup.StopChildren(sup.Children()...)
		return
	}
	if a.hooks.OnRestart != nil {
		a.hooks.OnRestart(name, d, reason)
	}
	gaugeAdd(a.hooks.Timers, 1)
	a.mu.Lock()
	var t *time.Timer
	t = time.AfterFunc(d.Delay, func() {
		gaugeAdd(a.hooks.Timers, -1)
		a.mu.Lock()
		_, live := a.timers[t]
		delete(a.timers, t)
		a.mu.Unlock()
		if live {
			sup.RestartChildren(child)
		}
	})
	a.timers[t] = struct{}{}
	a.mu.Unlock()
}

func (a *Actor) stopTimers() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t := range a.timers {
		if t.Stop() {
			gaugeAdd(a.hooks.Timers, -1)
		}
		delete(a.timers, t)
	}
}

func gaugeAdd(g *atomic.Int64, d int64) {
	if g != nil {
		g.Add(d)
	}
}
