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

// The fleet's breaker opens on the nodes' failures together, stays open
// for its period, and a success closes it after.
func TestFleetOpensOnTheNodesFailures(t *testing.T) {
	f, err := newFleet(breaker.Policy{FailureThreshold: 5, OpenTimeout: 10 * time.Second, HalfOpenProbes: 1})
	require.NoError(t, err)
	f.add(t0, 3, 0)
	f.add(t0, 0, 2) // node A
	f.add(t0, 0, 2) // node B: four in a row, not yet five
	s, _ := f.verdict(t0)
	assert.Equal(t, messages.Closed, s)
	f.add(t0.Add(100*time.Millisecond), 0, 1) // node C: the fifth
	s, left := f.verdict(t0.Add(time.Second))
	assert.Equal(t, messages.Open, s)
	assert.Equal(t, 9100*time.Millisecond, left)

	f.add(t0.Add(2*time.Second), 50, 0) // calls the nodes let through meanwhile change nothing
	s, _ = f.verdict(t0.Add(2 * time.Second))
	assert.Equal(t, messages.Open, s)

	s, _ = f.verdict(t0.Add(11 * time.Second))
	assert.Equal(t, messages.HalfOpen, s)
	f.add(t0.Add(11*time.Second), 1, 0) // a probe's success
	s, _ = f.verdict(t0.Add(11 * time.Second))
	assert.Equal(t, messages.Closed, s)
}

// A success anywhere in the fleet ends the failure run (successes are
// fed first in a batch, the pessimistic order).
func TestFleetBatchOrder(t *testing.T) {
	f, err := newFleet(breaker.Policy{FailureThreshold: 3, OpenTimeout: time.Second})
	require.NoError(t, err)
	f.add(t0, 0, 2)
	f.add(t0, 1, 2) // its success first, then two more failures: a run of two
	s, _ := f.verdict(t0)
	assert.Equal(t, messages.Closed, s)
	f.add(t0, 0, 1)
	s, _ = f.verdict(t0)
	assert.Equal(t, messages.Open, s)
}
