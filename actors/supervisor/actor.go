package supervisor

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/warden-go/warden/internal/actorkit"
)

// Child is an actor the supervisor spawns and restarts.
type Child struct {
	Name  string
	Props *actor.Props
}

// Config connects a supervisor to its owner. Every hook runs inside the
// supervisor actor and must not block; any may be nil.
type Config struct {
	// OnRestart is called for each crash that is restarted, before the
	// restart delay.
	OnRestart func(child string, d Decision, reason any)
	// OnEscalate is called once, at the crash that passes the restart
	// limit; every child is stopped after it.
	OnEscalate func(child string, d Decision, reason any)
	// OnStopped is called when the supervisor has stopped.
	OnStopped func()
	// Seed drives the restart delays' jitter.
	Seed uint64
	// Actors counts live actor instances and Timers pending restart
	// timers; either may be nil.
	Actors, Timers *atomic.Int64
}

// Supervisor is a supervising actor and its handle. It spawns its
// children when it starts and, when one crashes, restarts it after a
// growing delay while the crashes of all its children stay within the
// policy's intensity (as an Erlang/OTP supervisor's children share one
// restart intensity); past it, it escalates: it calls OnEscalate and stops
// every child. Children that are not actors (goroutines) report their
// crashes with Crashed and are restarted the same way. Spawn it once from
// Props. Its methods are safe for concurrent use.
type Supervisor struct {
	children  []Child
	cfg       Config
	intensity *Intensity // the actor's alone, as are rng and escalated
	rng       *rand.Rand
	escalated bool
	names     map[string]string // PID id -> child name

	gate actorkit.Gate

	mu     sync.Mutex // guards the pending restarts
	timers map[*time.Timer]struct{}
	closed bool // no more restarts are armed
}

type crashMsg struct {
	name    string
	reason  any
	restart func()
}

// New returns a supervisor for a valid policy; an invalid one returns an
// error matching messages.ErrInvalidPolicy.
func New(p Policy, children []Child, cfg Config) (*Supervisor, error) {
	in, err := NewIntensity(p)
	if err != nil {
		return nil, err
	}
	return &Supervisor{
		children:  children,
		cfg:       cfg,
		intensity: in,
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		names:     map[string]string{},
		timers:    map[*time.Timer]struct{}{},
	}, nil
}

// Props returns the props to spawn the supervisor with. It supervises its
// children itself, whatever its own parent does.
func (s *Supervisor) Props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &instance{s: s} }, actor.WithSupervisor(s))
}

// Ready is closed once the supervisor has spawned its children.
func (s *Supervisor) Ready() <-chan struct{} { return s.gate.Ready() }

// Crashed reports that name, a child that is not an actor, crashed with
// reason. Within the intensity, restart is called after the restart delay,
// from a goroutine of its own; past it, the supervisor escalates and
// restart is never called. It never blocks, and reports false once the
// supervisor is closed or stopped.
func (s *Supervisor) Crashed(name string, reason any, restart func()) bool {
	return s.gate.Send(crashMsg{name: name, reason: reason, restart: restart})
}

// Close stops all sending to the supervisor and every pending restart;
// stop the supervisor after it.
func (s *Supervisor) Close() {
	s.gate.Close()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopTimers()
}

type instance struct{ s *Supervisor }

// Receive handles one message.
func (in *instance) Receive(ctx actor.Context) {
	s := in.s
	switch m := ctx.Message().(type) {
	case *actor.Started:
		actorkit.Add(s.cfg.Actors, 1)
		if len(s.names) > 0 {
			return // restarted: the children are still there
		}
		for _, c := range s.children {
			pid, err := ctx.SpawnNamed(c.Props, c.Name)
			if err != nil {
				panic(fmt.Errorf("supervisor: spawn %s: %w", c.Name, err))
			}
			s.names[pid.Id] = c.Name
		}
		s.gate.Bind(ctx)
	case crashMsg:
		s.crash(m.name, m.reason, m.restart, func() {
			for _, c := range ctx.Children() {
				ctx.Stop(c)
			}
		})
	case *actor.Stopping:
		s.Close()
	case *actor.Restarting:
		actorkit.Add(s.cfg.Actors, -1)
	case *actor.Stopped:
		actorkit.Add(s.cfg.Actors, -1)
		s.Close()
		if s.cfg.OnStopped != nil {
			s.cfg.OnStopped()
		}
	case *actor.Terminated:
	default:
		ctx.Logger().Warn("warden: supervisor got an unexpected message", "type", fmt.Sprintf("%T", m))
	}
}

// HandleFailure implements actor.SupervisorStrategy for the supervisor's
// actor children.
func (s *Supervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	if s.escalated {
		sup.StopChildren(child)
		return
	}
	s.crash(s.names[child.Id], reason, func() { sup.RestartChildren(child) },
		func() { sup.StopChildren(sup.Children()...) })
}

// crash decides one crash: restart after the delay, or escalate.
func (s *Supervisor) crash(name string, reason any, restart, stopAll func()) {
	if s.escalated {
		return
	}
	d := s.intensity.Crash(time.Now(), s.rng.Float64())
	if d.Action == Escalate {
		s.escalated = true
		s.stopTimers()
		if s.cfg.OnEscalate != nil {
			s.cfg.OnEscalate(name, d, reason)
		}
		stopAll()
		return
	}
	if s.cfg.OnRestart != nil {
		s.cfg.OnRestart(name, d, reason)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	actorkit.Add(s.cfg.Timers, 1)
	var t *time.Timer
	t = time.AfterFunc(d.Delay, func() {
		s.mu.Lock()
		_, live := s.timers[t]
		delete(s.timers, t)
		s.mu.Unlock()
		if live {
			actorkit.Add(s.cfg.Timers, -1)
			restart()
		}
	})
	s.timers[t] = struct{}{}
}

func (s *Supervisor) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.timers { // whoever takes a timer out of the map counts it
		t.Stop()
		delete(s.timers, t)
		actorkit.Add(s.cfg.Timers, -1)
	}
}
