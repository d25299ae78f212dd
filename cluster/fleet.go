package cluster

import (
	"errors"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/messages"
)

// errFleet stands for a failure a node counted, fed to the fleet's
// machine.
var errFleet = errors.New("a node's failure")

// maxCount bounds the counts of one batch, far above any a batch period
// holds, so they convert to int safely.
const maxCount = 1 << 40

// fleet is one dependency's breaker over the whole fleet: the nodes'
// outcome counts, batch by batch, run through a breaker.Machine. In
// HALF_OPEN it grants the machine's probe permits to one node, the
// prober, and only the prober's outcomes decide. It is pure (the time
// comes in) and not safe for concurrent use; the grain owns it.
type fleet struct {
	m *breaker.Machine

	prober string           // the node granted the probes, "" for none
	held   []breaker.Permit // the machine's permits the prober holds
	gen    uint64           // the machine's generation they belong to
}

// verdict is what the fleet's breaker tells one node.
type verdict struct {
	State messages.State
	// OpenFor is how long an open breaker stays so.
	OpenFor time.Duration
	// Probes is how many probes at once the node may send: not zero only
	// for the prober, in HALF_OPEN.
	Probes int
}

// counts is one node's batch: its outcomes since its last batch, and the
// calls its own breaker turned away meanwhile (it wants a probe).
type counts struct {
	Node                          string
	Succeeded, Failed, TurnedAway uint64
}

func newFleet(p breaker.Policy) (*fleet, error) {
	m, err := breaker.NewMachine(p, 1)
	if err != nil {
		return nil, err
	}
	return &fleet{m: m}, nil
}

// add feeds a node's batch at now and returns the verdict for that node.
//
// CLOSED: the outcomes go through the machine in bulk, successes first,
// then failures (their order within a batch is unknown; failures last is
// the pessimistic reading), at a cost that does not grow with them. OPEN: outcomes are dropped, as the nodes' own
// breakers turn those calls away (these are calls let in before).
// HALF_OPEN: the first node that wants a probe gets every permit the
// machine grants; its outcomes then settle them (any failure re-opens
// the fleet; successes close it as the policy says), and others' are
// dropped. A prober that stops reporting is the machine's: past
// MaxHalfOpenWait its probe counts as failed and the fleet re-opens.
func (f *fleet) add(now time.Time, c counts) verdict {
	f.tick(now)
	switch f.m.State() {
	case messages.Closed:
		f.m.RecordCounts(now, int(min(c.Succeeded, maxCount)), int(min(c.Failed, maxCount)))
	case messages.HalfOpen:
		if c.Node == f.prober {
			f.settle(now, c.Succeeded, c.Failed)
		}
	}
	f.forget(now)
	if f.m.State() == messages.HalfOpen {
		if f.prober == "" && c.TurnedAway > 0 {
			f.prober = c.Node
		}
		if c.Node == f.prober {
			f.grant(now)
		}
	}
	return f.verdict(now, c.Node)
}

// verdict is the fleet's state at now as node sees it.
func (f *fleet) verdict(now time.Time, node string) verdict {
	f.tick(now)
	s := f.m.Snapshot(now)
	v := verdict{State: s.State}
	switch s.State {
	case messages.Open:
		v.OpenFor = s.OpenUntil.Sub(now)
	case messages.HalfOpen:
		if node == f.prober {
			v.Probes = len(f.held)
		}
	}
	return v
}

// tick applies the transitions time alone causes.
func (f *fleet) tick(now time.Time) {
	f.m.Tick(now)
	f.forget(now)
}

// forget drops the prober once the HALF_OPEN it was granted is over.
func (f *fleet) forget(now time.Time) {
	if f.prober != "" && (f.m.State() != messages.HalfOpen || f.m.Snapshot(now).Generation != f.gen) {
		f.prober, f.held = "", nil
	}
}

// grant takes every permit the machine has left for the prober.
func (f *fleet) grant(now time.Time) {
	for {
		d := f.m.Allow(now)
		if !d.Allowed {
			return
		}
		f.held = append(f.held, d.Permit)
		f.gen = d.Permit.Generation
	}
}

// settle reports the prober's outcomes on the permits it holds.
func (f *fleet) settle(now time.Time, succeeded, failed uint64) {
	take := func() (breaker.Permit, bool) {
		if len(f.held) > 0 {
			p := f.held[0]
			f.held = f.held[1:]
			return p, true
		}
		d := f.m.Allow(now)
		return d.Permit, d.Allowed
	}
	if failed > 0 {
		if p, ok := take(); ok {
			f.m.Report(now, p, errFleet, 0)
		}
		return
	}
	for range min(succeeded, maxCount) { // ends at the close, SuccessesToClose at most
		p, ok := take()
		if !ok {
			return
		}
		if f.m.Report(now, p, nil, 0).Changed() {
			return
		}
	}
}
