package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/messages"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func newTestFleet(t *testing.T, p breaker.Policy) *fleet {
	f, err := newFleet(p)
	require.NoError(t, err)
	return f
}

// The fleet's breaker opens on the nodes' failures together, stays open
// for its period, and a probe's success closes it after.
func TestFleetOpensOnTheNodesFailures(t *testing.T) {
	f := newTestFleet(t, breaker.Policy{FailureThreshold: 5, OpenTimeout: 10 * time.Second, HalfOpenProbes: 1})
	f.add(t0, counts{Node: "a", Succeeded: 3})
	f.add(t0, counts{Node: "a", Failed: 2})
	v := f.add(t0, counts{Node: "b", Failed: 2}) // four in a row, not yet five
	assert.Equal(t, messages.Closed, v.State)
	f.add(t0.Add(100*time.Millisecond), counts{Node: "c", Failed: 1}) // the fifth
	v = f.verdict(t0.Add(time.Second), "a")
	assert.Equal(t, verdict{State: messages.Open, OpenFor: 9100 * time.Millisecond}, v)

	v = f.add(t0.Add(2*time.Second), counts{Node: "b", Succeeded: 50}) // calls let in before change nothing
	assert.Equal(t, messages.Open, v.State)

	later := t0.Add(11 * time.Second)
	assert.Equal(t, verdict{State: messages.HalfOpen}, f.add(later, counts{Node: "a"}), "a wants no probe")
	assert.Equal(t, verdict{State: messages.HalfOpen, Probes: 1}, f.add(later, counts{Node: "b", TurnedAway: 7}), "b does")
	assert.Equal(t, verdict{State: messages.HalfOpen}, f.add(later, counts{Node: "c", TurnedAway: 3}), "one prober")
	v = f.add(later, counts{Node: "b", Succeeded: 1}) // its probe's success
	assert.Equal(t, messages.Closed, v.State)
	assert.Equal(t, messages.Closed, f.verdict(later, "c").State)
}

// A success anywhere in the fleet ends the failure run (successes are
// fed first in a batch, the pessimistic order).
func TestFleetBatchOrder(t *testing.T) {
	f := newTestFleet(t, breaker.Policy{FailureThreshold: 3, OpenTimeout: time.Second})
	f.add(t0, counts{Node: "a", Failed: 2})
	v := f.add(t0, counts{Node: "b", Succeeded: 1, Failed: 2}) // its success first, then two more failures: a run of two
	assert.Equal(t, messages.Closed, v.State)
	v = f.add(t0, counts{Node: "a", Failed: 1})
	assert.Equal(t, messages.Open, v.State)
}

// In HALF_OPEN only the prober's outcomes count: others' (calls let in
// before the fleet opened) are dropped, a failure of the prober re-opens
// the fleet, and the next HALF_OPEN may grant another node.
func TestFleetProber(t *testing.T) {
	f := newTestFleet(t, breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenProbes: 2})
	f.add(t0, counts{Node: "a", Failed: 1})
	at := t0.Add(time.Second)
	assert.Equal(t, 2, f.add(at, counts{Node: "a", TurnedAway: 1}).Probes, "every permit to the prober")
	assert.Equal(t, 0, f.add(at, counts{Node: "b", TurnedAway: 1, Failed: 4, Succeeded: 4}).Probes)
	assert.Equal(t, messages.HalfOpen, f.verdict(at, "b").State, "b's outcomes change nothing")

	v := f.add(at, counts{Node: "a", Succeeded: 1, Failed: 1})
	assert.Equal(t, messages.Open, v.State, "a failed probe re-opens the fleet")
	assert.Equal(t, time.Second, v.OpenFor)

	at = at.Add(time.Second)
	assert.Equal(t, 2, f.add(at, counts{Node: "b", TurnedAway: 1}).Probes, "a new HALF_OPEN, a new prober")
	v = f.add(at, counts{Node: "b", Succeeded: 1})
	assert.Equal(t, verdict{State: messages.HalfOpen, Probes: 2}, v, "one success of two: still probing, both permits again")
	assert.Equal(t, messages.Closed, f.add(at, counts{Node: "b", Succeeded: 1}).State)
}

// A prober that goes silent holds the fleet for MaxHalfOpenWait at most:
// then its probe counts as failed, the fleet re-opens, and the next
// HALF_OPEN grants another node.
func TestFleetSilentProber(t *testing.T) {
	f := newTestFleet(t, breaker.Policy{FailureThreshold: 1, OpenTimeout: time.Second, MaxHalfOpenWait: 3 * time.Second})
	f.add(t0, counts{Node: "a", Failed: 1})
	at := t0.Add(time.Second)
	assert.Equal(t, 1, f.add(at, counts{Node: "a", TurnedAway: 1}).Probes)
	assert.Equal(t, 0, f.add(at.Add(2*time.Second), counts{Node: "b", TurnedAway: 1}).Probes, "a still holds it")
	v := f.add(at.Add(3*time.Second), counts{Node: "b", TurnedAway: 1})
	assert.Equal(t, messages.Open, v.State, "a's probe never reported")
	assert.Equal(t, 1, f.add(at.Add(5*time.Second), counts{Node: "b", TurnedAway: 1}).Probes)
}
