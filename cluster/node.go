// Package cluster shares each dependency's breaker across a fleet of
// processes, on protoactor's cluster: per dependency, a grain (a virtual
// actor, placed by distributed hashing) runs a breaker over the outcome
// counts every node sends it in batches; when the fleet's breaker opens,
// each node's own breaker opens for the same remaining period.
//
// The hot path stays local: admission reads the node's own breaker, and
// the node reads the counts the executor keeps anyway, once a batch
// period, so joining adds nothing per call. A node that cannot reach a
// grain goes on with its own breaker alone.
//
// It is a module of its own, so that users who do not cluster never
// compile gRPC or a membership provider.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/executor"
	"github.com/warden-go/warden/messages"
)

// grainKind is the cluster kind of the fleet breakers.
const grainKind = "warden-breaker"

// Config says how a node joins.
type Config struct {
	// Name is the cluster's name; nodes join the cluster of their name.
	Name string
	// Host and Port are where this node's remote listens (Port 0: a free
	// port).
	Host string
	Port int
	// Provider finds the members, such as protoactor's automanaged or
	// etcd provider.
	Provider pcluster.ClusterProvider
	// Breakers are the fleet breakers' policies, by dependency; only these
	// dependencies are shared. Every node must give the same: a fleet
	// breaker runs the policy of the node that hosts it. The fleet sees
	// outcomes, not durations, so slow-call rules are refused here (keep
	// them in the dependency's own policy); a policy's functions
	// (IsFailure, IsIgnored) do not apply, as each node classifies its
	// own calls.
	Breakers map[string]breaker.Policy
	// Batch is how often a node sends its counts; zero means 100 ms.
	Batch time.Duration
	// Logger gets the node's records; nil means none.
	Logger *slog.Logger
}

// Node is an executor joined to a cluster.
type Node struct {
	ex     *executor.Executor
	cfg    Config
	logger *slog.Logger
	system *actor.ActorSystem
	c      *pcluster.Cluster
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu        sync.Mutex
	reachable map[string]bool // by dependency: the last batch's reply came
}

// batch is what a node sends a grain, and reply what it answers.
type (
	batch struct {
		Node       string `json:"node"`
		Succeeded  uint64 `json:"succeeded"`
		Failed     uint64 `json:"failed"`
		TurnedAway uint64 `json:"turned_away"`
	}
	reply struct {
		State     string `json:"state"`
		OpenForMS int64  `json:"open_for_ms"`
		Probes    int    `json:"probes"`
		Error     string `json:"error,omitempty"` // the grain cannot run
	}
)

// Join starts a cluster member for ex and its batches, and returns at
// once: the node joins in the background (Reachable says when it has
// reached a grain); ctx is not used yet. Leave ends them.
func Join(ctx context.Context, ex *executor.Executor, cfg Config) (*Node, error) {
	if ex == nil || cfg.Provider == nil || cfg.Name == "" || len(cfg.Breakers) == 0 {
		return nil, fmt.Errorf("%w: cluster.Config needs an executor, a Name, a Provider and Breakers", messages.ErrInvalidPolicy)
	}
	var errs []error
	for dep, p := range cfg.Breakers {
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("cluster.Config.Breakers[%q]: %w", dep, err))
		}
		if p.SlowCallRateThreshold > 0 || p.SlowCallDuration > 0 {
			errs = append(errs, fmt.Errorf("%w: cluster.Config.Breakers[%q]: SlowCallRateThreshold and SlowCallDuration: the fleet is sent no call durations; keep slow-call rules in the dependency's own policy",
				messages.ErrInvalidPolicy, dep))
		}
		if _, err := ex.Dependency(dep); err != nil {
			errs = append(errs, fmt.Errorf("cluster.Config.Breakers[%q]: %w", dep, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Batch == 0 {
		cfg.Batch = 100 * time.Millisecond
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{ex: ex, cfg: cfg, logger: logger, stop: make(chan struct{}), done: make(chan struct{}), reachable: map[string]bool{}}
	n.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logger.With("component", "protoactor")
	}))
	kind := pcluster.NewKind(grainKind, actor.PropsFromProducer(func() actor.Actor { return &grain{policies: cfg.Breakers} }))
	cc := pcluster.Configure(cfg.Name, cfg.Provider, disthash.New(), remote.Configure(cfg.Host, cfg.Port),
		pcluster.WithKinds(kind), pcluster.WithRequestTimeout(time.Second))
	n.c = pcluster.New(n.system, cc)
	n.c.StartMember()
	go n.run()
	return n, nil
}

// Leave stops the batches and leaves the cluster, telling the others
// (a graceful leave takes protoactor about two seconds).
func (n *Node) Leave() {
	n.once.Do(func() {
		close(n.stop)
		<-n.done
		n.shutdown()
	})
}

// shutdown leaves the cluster and stops the actor system. protoactor's
// graceful stop can panic (send on closed channel) when a peer's
// connection ends at the same moment: its endpoint manager signals a
// connection whose reader has just closed its channel. The panic comes
// after the leave itself; what it skips is stopping the remote's server,
// done here then.
func (n *Node) shutdown() {
	defer func() {
		if r := recover(); r != nil {
			n.logger.Warn("warden: protoactor panicked while leaving the cluster; its server is stopped at once", "panic", fmt.Sprint(r))
			n.c.Remote.Shutdown(false)
		}
	}()
	n.c.Shutdown(true) // stops the actor system too
}

// Address is this node's address in the cluster.
func (n *Node) Address() string { return n.system.Address() }

// GrainAddress returns the address of the node that hosts dependency's
// fleet breaker now, activating it if need be; "" if it cannot be found.
func (n *Node) GrainAddress(dependency string) string {
	if pid := n.c.Get(dependency, grainKind); pid != nil {
		return pid.Address
	}
	return ""
}

// Reachable reports whether the last batch for dependency reached its
// grain.
func (n *Node) Reachable(dependency string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reachable[dependency]
}

// run sends each dependency's counts once a batch period and follows
// the fleet's verdicts.
func (n *Node) run() {
	defer close(n.done)
	tick := time.NewTicker(n.cfg.Batch)
	defer tick.Stop()
	prev := map[string]executor.Stats{}
	held := map[string]bool{} // the local breaker is open because the fleet's is
	self := n.system.Address()
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		for dep := range n.cfg.Breakers {
			st, err := n.ex.Stats(dep)
			if err != nil {
				continue
			}
			last := prev[dep]
			b := batch{Node: self,
				Succeeded:  st.Succeeded - last.Succeeded,
				Failed:     (st.Failed + st.TimedOut + st.Panicked) - (last.Failed + last.TimedOut + last.Panicked),
				TurnedAway: st.ShortCircuited - last.ShortCircuited}
			data, _ := json.Marshal(b)
			resp, err := n.c.Request(dep, grainKind, wrapperspb.String(string(data)), pcluster.WithTimeout(n.cfg.Batch*5))
			var r reply
			ok := err == nil && decode(resp, &r)
			if ok && r.Error != "" {
				ok, err = false, errors.New(r.Error)
			}
			if ok {
				prev[dep] = st // counts not delivered are sent with the next batch
				held[dep] = n.follow(dep, st.State, r, held[dep])
			}
			n.mu.Lock()
			was, seen := n.reachable[dep]
			n.reachable[dep] = ok
			n.mu.Unlock()
			switch {
			case !ok && (was || !seen):
				n.logger.Warn("warden: fleet breaker unreachable, the local breaker alone guards the dependency",
					"dependency", dep, "err", err)
			case ok && seen && !was:
				n.logger.Info("warden: fleet breaker reachable again", "dependency", dep)
			}
		}
	}
}

// decode reads a grain's reply.
func decode(resp any, r *reply) bool {
	sv, ok := resp.(*wrapperspb.StringValue)
	return ok && json.Unmarshal([]byte(sv.Value), r) == nil
}

// follow applies the fleet's verdict r to the local breaker, in state
// local, and reports whether the local breaker is now held open (or
// probing) for the fleet. An open fleet holds the local breaker open for
// its remaining period plus hold; a probing one keeps it open but at the
// prober, which it moves to HALF_OPEN with the probes granted; a closed
// one closes a local breaker it held. A breaker an operator forced open
// or disabled is left alone. Each hold is renewed by the next verdict, so
// a node that stops hearing from its grain has its own breaker back
// within hold (plus what is left of the fleet's open period).
func (n *Node) follow(dep string, local executor.State, r reply, held bool) bool {
	if local == executor.ForcedOpen || local == executor.Disabled {
		return false
	}
	ctx := context.Background()
	hold := n.hold()
	switch r.State {
	case messages.Open.String():
		_, _ = n.ex.OpenBreakerFor(ctx, dep, time.Duration(r.OpenForMS)*time.Millisecond+hold, "fleet breaker open")
		return true
	case messages.HalfOpen.String():
		switch {
		case r.Probes > 0 && local == executor.Open:
			_, _ = n.ex.HalfOpenBreaker(ctx, dep, r.Probes, "fleet breaker probes here")
		case r.Probes > 0:
			// Probing already, or closed by its probes: the grain hears of them next.
		default:
			_, _ = n.ex.OpenBreakerFor(ctx, dep, hold, "fleet breaker probing elsewhere")
		}
		return true
	case messages.Closed.String():
		if held && (local == executor.Open || local == executor.HalfOpen) {
			_, _ = n.ex.ControlBreaker(ctx, dep, executor.ResetBreaker)
		}
	}
	return false
}

// hold is how long a local breaker stays open on the fleet's word past
// the fleet's own period: ten batch periods, so that verdicts renew it
// well before it ends.
func (n *Node) hold() time.Duration { return 10 * n.cfg.Batch }

// grain is one dependency's fleet breaker, a virtual actor. It runs the
// policy its hosting node has for the dependency: every node gives the
// same.
type grain struct {
	policies map[string]breaker.Policy
	f        *fleet
	err      string // why it cannot run
}

// Receive handles one message.
func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pcluster.ClusterInit:
		dep := m.Identity.Identity
		p, ok := g.policies[dep]
		if !ok {
			g.err = fmt.Sprintf("the fleet breaker of %q is on node %s, which has no policy for it: give every node the same Config.Breakers", dep, ctx.Self().Address)
			return
		}
		f, err := newFleet(p)
		if err != nil { // Join checked it
			g.err = err.Error()
			return
		}
		g.f = f
	case *wrapperspb.StringValue:
		var b batch
		if json.Unmarshal([]byte(m.Value), &b) != nil {
			return
		}
		r := reply{Error: g.err}
		if g.f != nil {
			v := g.f.add(time.Now(), counts(b))
			r = reply{State: v.State.String(), OpenForMS: v.OpenFor.Milliseconds(), Probes: v.Probes}
		}
		data, _ := json.Marshal(r)
		ctx.Respond(wrapperspb.String(string(data)))
	}
}
