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

// maxPerBatch bounds the outcomes of one batch fed to the machine one by
// one: past it, a batch counts as that many, which changes no verdict of
// a consecutive-failure breaker.
const maxPerBatch = 10_000

// fleet is one dependency's breaker over the whole fleet: the nodes'
// outcome counts, batch by batch, run through a breaker.Machine. It is
// pure (the time comes in) and not safe for concurrent use; the grain
// owns it.
type fleet struct {
	m *breaker.Machine
}

func newFleet(p breaker.Policy) (*fleet, error) {
	m, err := breaker.NewMachine(p, 1)
	if err != nil {
		return nil, err
	}
	return &fleet{m: m}, nil
}

// add feeds a node's batch: succeeded successes, then failed failures
// (the order within a batch is unknown; failures last is the pessimistic
// reading). Outcomes the machine does not admit (it is open) are dropped,
// as a node's own breaker would have turned those calls away.
func (f *fleet) add(now time.Time, succeeded, failed uint64) {
	feed := func(n uint64, err error) {
		for range min(n, maxPerBatch) {
			d := f.m.Allow(now)
			if !d.Allowed {
				return
			}
			f.m.Report(now, d.Permit, err, 0)
		}
	}
	feed(succeeded, nil)
	feed(failed, errFleet)
}

// verdict is what the fleet's breaker says at now: its state and, when
// open, how long it stays so.
func (f *fleet) verdict(now time.Time) (messages.State, time.Duration) {
	f.m.Tick(now)
	s := f.m.Snapshot(now)
	if s.State == messages.Open {
		return s.State, s.OpenUntil.Sub(now)
	}
	return s.State, 0
}
