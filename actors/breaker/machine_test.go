package breaker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/messages"
)

var (
	t0      = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	errBoom = errors.New("boom")
)

func newMachine(t *testing.T, p Policy) *Machine {
	t.Helper()
	m, err := NewMachine(p, 1)
	require.NoError(t, err)
	return m
}

// call allows one call at now and reports err for it.
func call(t *testing.T, m *Machine, now time.Time, err error) Transition {
	t.Helper()
	d := m.Allow(now)
	require.True(t, d.Allowed, "call at %s rejected in %s", now, m.State())
	return m.Report(now, d.Permit, err, 0)
}

func TestConsecutiveFailuresTripAndRecover(t *testing.T) {
	m := newMachine(t, Database())
	assert.Equal(t, messages.Closed, m.State())

	assert.False(t, call(t, m, t0, errBoom).Changed())
	assert.False(t, call(t, m, t0, errBoom).Changed())
	tr := call(t, m, t0.Add(time.Second), errBoom)
	assert.Equal(t, Transition{From: messages.Closed, To: messages.Open, At: t0.Add(time.Second),
		Generation: 1, Reason: "consecutive failures", OpenFor: 30 * time.Second}, tr)

	snap := m.Snapshot(t0.Add(time.Second))
	assert.Equal(t, 3, snap.TripFailures)
	assert.Equal(t, t0.Add(31*time.Second), snap.OpenUntil)
	assert.Equal(t, t0.Add(time.Second), snap.LastFailure)

	// Open: rejected until 30 s after the trip, with the time left.
	d := m.Allow(t0.Add(30 * time.Second))
	assert.False(t, d.Allowed)
	assert.Equal(t, time.Second, d.RetryAfter)
	assert.False(t, d.Transition.Changed())

	// At the end of the open period the next call becomes the probe.
	d = m.Allow(t0.Add(31 * time.Second))
	require.True(t, d.Allowed)
	assert.True(t, d.Permit.Probe)
	assert.Equal(t, messages.HalfOpen, d.Transition.To)
	assert.Equal(t, messages.HalfOpen, m.State())

	// A second caller finds no permit left.
	assert.False(t, m.Allow(t0.Add(31*time.Second)).Allowed)

	tr = m.Report(t0.Add(32*time.Second), d.Permit, nil, time.Second)
	assert.Equal(t, messages.Closed, tr.To)
	assert.Equal(t, "probes succeeded", tr.Reason)
	assert.Equal(t, uint64(2), m.Snapshot(t0).Rejected)
}

func TestSuccessResetsTheFailureRun(t *testing.T) {
	m := newMachine(t, Database())
	call(t, m, t0, errBoom)
	call(t, m, t0, errBoom)
	call(t, m, t0, nil)
	call(t, m, t0, errBoom)
	call(t, m, t0, errBoom)
	assert.Equal(t, messages.Closed, m.State())
	assert.Equal(t, 2, m.Snapshot(t0).ConsecutiveFailures)
	call(t, m, t0, errBoom)
	assert.Equal(t, messages.Open, m.State())
}

func TestProbeFailureReopens(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1, OpenTimeout: 10 * time.Second})
	call(t, m, t0, errBoom)
	d := m.Allow(t0.Add(10 * time.Second))
	require.True(t, d.Permit.Probe)
	tr := m.Report(t0.Add(11*time.Second), d.Permit, errBoom, 0)
	assert.Equal(t, messages.HalfOpen, tr.From)
	assert.Equal(t, messages.Open, tr.To)
	assert.Equal(t, "probe failed", tr.Reason)
	assert.Equal(t, t0.Add(21*time.Second), m.Snapshot(t0).OpenUntil)
}

func TestHalfOpenProbeLimitAndSuccessesToClose(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenProbes: 3, SuccessesToClose: 2})
	call(t, m, t0, errBoom)
	now := t0.Add(time.Second)
	var permits []Permit
	for range 3 {
		d := m.Allow(now)
		require.True(t, d.Allowed)
		permits = append(permits, d.Permit)
	}
	assert.False(t, m.Allow(now).Allowed, "a fourth concurrent probe")
	assert.Equal(t, 3, m.Snapshot(now).ProbesInFlight)

	// An ignored probe hands its permit back without counting.
	assert.False(t, m.Report(now, permits[0], context.Canceled, 0).Changed())
	assert.Equal(t, 2, m.Snapshot(now).ProbesInFlight)
	d := m.Allow(now)
	require.True(t, d.Allowed, "the freed permit is granted again")
	assert.False(t, m.Report(now, permits[1], nil, 0).Changed())
	tr := m.Report(now, permits[2], nil, 0)
	assert.Equal(t, messages.Closed, tr.To)

	// The permit still out belongs to the HALF_OPEN generation: stale now.
	before := m.Snapshot(now)
	assert.False(t, m.Report(now, d.Permit, errBoom, 0).Changed())
	after := m.Snapshot(now)
	assert.Equal(t, before.Failures, after.Failures)
	assert.Equal(t, before.Stale+1, after.Stale)
}

func TestProbeReportedTwiceCountsOnce(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenProbes: 2})
	call(t, m, t0, errBoom)
	d := m.Allow(t0.Add(time.Second))
	m.Report(t0.Add(time.Second), d.Permit, nil, 0)
	assert.Equal(t, messages.HalfOpen, m.State(), "one of two successes")
	m.Report(t0.Add(time.Second), d.Permit, nil, 0)
	assert.Equal(t, messages.HalfOpen, m.State(), "the same permit cannot close it")
	assert.Equal(t, uint64(1), m.Snapshot(t0).Stale)
}

func TestStuckProbeReopensAfterMaxHalfOpenWait(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1, OpenTimeout: 10 * time.Second, MaxHalfOpenWait: 5 * time.Second})
	call(t, m, t0, errBoom)
	stuck := m.Allow(t0.Add(10 * time.Second))
	require.True(t, stuck.Allowed)

	assert.False(t, m.Allow(t0.Add(14*time.Second)).Allowed, "still waiting for the probe")
	tr := m.Tick(t0.Add(15 * time.Second))
	assert.Equal(t, messages.Open, tr.To)
	assert.Equal(t, "probe did not report", tr.Reason)

	// The probe's late success is stale and cannot close the breaker.
	assert.False(t, m.Report(t0.Add(16*time.Second), stuck.Permit, nil, 0).Changed())
	assert.Equal(t, messages.Open, m.State())
	assert.Equal(t, t0.Add(25*time.Second), m.Snapshot(t0).OpenUntil)
}

func TestStaleOutcomeFromClosedGenerationIsIgnored(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 2, OpenTimeout: time.Second})
	early := m.Allow(t0)
	call(t, m, t0, errBoom)
	call(t, m, t0, errBoom)
	require.Equal(t, messages.Open, m.State())
	m.Allow(t0.Add(time.Second)) // half-open, probe out
	m.Report(t0.Add(time.Second), Permit{Generation: 2, Probe: true, Seq: 1}, nil, 0)
	require.Equal(t, messages.Closed, m.State())
	m.Report(t0.Add(2*time.Second), early.Permit, errBoom, 0)
	s := m.Snapshot(t0)
	assert.Equal(t, 0, s.ConsecutiveFailures)
	assert.Equal(t, uint64(1), s.Stale)
}

func TestFailureRateCountWindow(t *testing.T) {
	m := newMachine(t, Policy{FailureRateThreshold: 0.5, WindowSize: 10, MinimumCalls: 4})
	call(t, m, t0, errBoom)
	call(t, m, t0, errBoom)
	call(t, m, t0, errBoom)
	assert.Equal(t, messages.Closed, m.State(), "below MinimumCalls, and the consecutive rule is off")
	tr := call(t, m, t0, nil)
	assert.Equal(t, "failure rate", tr.Reason)
}

func TestCountWindowSlidesOut(t *testing.T) {
	m := newMachine(t, Policy{FailureRateThreshold: 0.5, WindowSize: 4, MinimumCalls: 4})
	for _, err := range []error{errBoom, nil, nil, nil, nil, errBoom, nil} {
		call(t, m, t0, err)
	}
	s := m.Snapshot(t0)
	assert.Equal(t, 4, s.WindowCalls)
	assert.InDelta(t, 0.25, s.FailureRate, 1e-9)
	call(t, m, t0, errBoom) // window: nil errBoom nil errBoom
	assert.Equal(t, messages.Open, m.State())
}

func TestFailureRateTimeWindow(t *testing.T) {
	p := Policy{FailureRateThreshold: 0.5, WindowDuration: 10 * time.Second, WindowBuckets: 10, MinimumCalls: 3}
	m := newMachine(t, p)
	call(t, m, t0, errBoom)
	call(t, m, t0.Add(time.Second), errBoom)
	// Eleven seconds on, both failures have left the window.
	late := t0.Add(11 * time.Second)
	call(t, m, late, nil)
	call(t, m, late, nil)
	assert.Equal(t, 2, m.Snapshot(late).WindowCalls)
	call(t, m, late, errBoom)
	assert.Equal(t, messages.Closed, m.State(), "1 failure in 3 calls")
	call(t, m, late.Add(500*time.Millisecond), errBoom)
	assert.Equal(t, messages.Open, m.State(), "2 failures in 4 calls")
}

func TestTimeWindowForgetsWhenClockGoesBack(t *testing.T) {
	m := newMachine(t, Policy{FailureRateThreshold: 1, WindowDuration: time.Second, WindowBuckets: 2, MinimumCalls: 5})
	call(t, m, t0.Add(time.Second), errBoom)
	call(t, m, t0, nil) // same slot, earlier span: the later bucket is dropped
	assert.Equal(t, 1, m.Snapshot(t0).WindowCalls)
}

func TestSlowCallRate(t *testing.T) {
	m := newMachine(t, Policy{SlowCallRateThreshold: 0.5, SlowCallDuration: time.Second, WindowSize: 4, MinimumCalls: 4})
	for _, el := range []time.Duration{2 * time.Second, 0, time.Second} {
		d := m.Allow(t0)
		m.Report(t0, d.Permit, nil, el)
	}
	assert.Equal(t, messages.Closed, m.State())
	d := m.Allow(t0)
	tr := m.Report(t0, d.Permit, nil, 0)
	assert.Equal(t, "slow-call rate", tr.Reason)
	assert.Equal(t, uint64(2), m.Snapshot(t0).Slow)
}

func TestSlowProbeReopensWhenSlowRuleIsOn(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1, SlowCallRateThreshold: 1, SlowCallDuration: time.Second, OpenTimeout: time.Second})
	call(t, m, t0, errBoom)
	d := m.Allow(t0.Add(time.Second))
	tr := m.Report(t0.Add(3*time.Second), d.Permit, nil, 2*time.Second)
	assert.Equal(t, messages.Open, tr.To)
}

func TestOpenTimeoutGrowsAndResetsOnClose(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second, OpenTimeoutMultiplier: 3, MaxOpenTimeout: 5 * time.Second})
	now := t0
	var periods []time.Duration
	trip := call(t, m, now, errBoom)
	periods = append(periods, trip.OpenFor)
	for range 3 {
		now = m.Snapshot(now).OpenUntil
		d := m.Allow(now)
		require.True(t, d.Permit.Probe)
		periods = append(periods, m.Report(now, d.Permit, errBoom, 0).OpenFor)
	}
	assert.Equal(t, []time.Duration{time.Second, 3 * time.Second, 5 * time.Second, 5 * time.Second}, periods)

	now = m.Snapshot(now).OpenUntil
	d := m.Allow(now)
	m.Report(now, d.Permit, nil, 0)
	require.Equal(t, messages.Closed, m.State())
	assert.Equal(t, time.Second, call(t, m, now, errBoom).OpenFor, "a close starts the growth again")
}

func TestGrownOpenTimeoutStopsExactlyAtItsCap(t *testing.T) {
	maxOpen := time.Duration(1<<53 + 1) // no float64 holds it exactly
	m := newMachine(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second, OpenTimeoutMultiplier: 1e9, MaxOpenTimeout: maxOpen})
	assert.Equal(t, time.Second, call(t, m, t0, errBoom).OpenFor)
	now := m.Snapshot(t0).OpenUntil
	d := m.Allow(now)
	require.True(t, d.Permit.Probe)
	assert.Equal(t, maxOpen, m.Report(now, d.Permit, errBoom, 0).OpenFor)
}

func TestOpenTimeoutJitterStaysWithinBounds(t *testing.T) {
	p := Policy{FailureThreshold: 1, OpenTimeout: 10 * time.Second, OpenTimeoutJitter: 0.5}
	seen := map[time.Duration]bool{}
	for seed := range uint64(50) {
		m, err := NewMachine(p, seed)
		require.NoError(t, err)
		d := m.Allow(t0)
		tr := m.Report(t0, d.Permit, errBoom, 0)
		assert.GreaterOrEqual(t, tr.OpenFor, 5*time.Second)
		assert.LessOrEqual(t, tr.OpenFor, 15*time.Second)
		seen[tr.OpenFor] = true
	}
	assert.Greater(t, len(seen), 40, "seeds give different periods")
}

func TestHugeOpenTimeoutDoesNotOverflow(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1, OpenTimeout: 1 << 62, OpenTimeoutMultiplier: 1e300, MaxOpenTimeout: 1<<63 - 1})
	now := t0
	for range 5 {
		d := m.Allow(now)
		if !d.Allowed {
			break
		}
		tr := m.Report(now, d.Permit, errBoom, 0)
		assert.Positive(t, tr.OpenFor)
		now = m.Snapshot(now).OpenUntil
		assert.True(t, now.After(t0))
	}
}

func TestForceOpenDisableReset(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1})
	tr := m.ForceOpen(t0)
	assert.Equal(t, messages.ForcedOpen, tr.To)
	d := m.Allow(t0.Add(24 * time.Hour))
	assert.False(t, d.Allowed, "forced open never expires")
	assert.Zero(t, d.RetryAfter)

	tr = m.Disable(t0)
	assert.Equal(t, messages.Disabled, tr.To)
	for range 10 {
		call(t, m, t0, errBoom)
	}
	s := m.Snapshot(t0)
	assert.Equal(t, messages.Disabled, s.State, "disabled never trips")
	assert.Equal(t, 10, s.ConsecutiveFailures, "but keeps counting")

	tr = m.Reset(t0)
	assert.Equal(t, messages.Closed, tr.To)
	assert.Zero(t, m.Snapshot(t0).ConsecutiveFailures)
	assert.Equal(t, messages.Open, call(t, m, t0, errBoom).To)
	assert.Equal(t, messages.Closed, m.Reset(t0).To)
}

func TestIgnoredOutcomesChangeNothing(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1})
	call(t, m, t0, context.Canceled)
	call(t, m, t0, context.Canceled)
	s := m.Snapshot(t0)
	assert.Equal(t, messages.Closed, s.State)
	assert.Equal(t, uint64(2), s.Ignored)
	assert.Equal(t, uint64(2), s.Calls)
	assert.Zero(t, s.WindowCalls)
}

func TestCustomClassification(t *testing.T) {
	errBusiness := errors.New("not found")
	m := newMachine(t, Policy{
		FailureThreshold: 1,
		IsFailure:        func(err error) bool { return !errors.Is(err, errBusiness) },
		IsIgnored:        func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
	})
	call(t, m, t0, errBusiness)
	call(t, m, t0, context.DeadlineExceeded)
	s := m.Snapshot(t0)
	assert.Equal(t, uint64(1), s.Successes)
	assert.Equal(t, uint64(1), s.Ignored)
	// With a custom IsIgnored, cancellation is no longer ignored by default.
	call(t, m, t0, context.Canceled)
	assert.Equal(t, messages.Open, m.State())
}

func TestForgedPermitIsStale(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 1})
	m.Report(t0, Permit{Generation: 0, Probe: true, Seq: 9}, errBoom, 0)
	m.Report(t0, Permit{Generation: 7}, errBoom, 0)
	s := m.Snapshot(t0)
	assert.Equal(t, uint64(2), s.Stale)
	assert.Equal(t, messages.Closed, s.State)
}

// OpenFor opens for the period given, from any state, then probes as
// after a trip; a period that is not positive changes nothing.
func TestOpenFor(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 3, OpenTimeout: time.Second})
	assert.Equal(t, Transition{}, m.OpenFor(t0, 0, "nothing"))
	assert.Equal(t, messages.Closed, m.State())

	tr := m.OpenFor(t0, time.Minute, "fleet")
	assert.Equal(t, messages.Closed, tr.From)
	assert.Equal(t, messages.Open, tr.To)
	assert.Equal(t, "fleet", tr.Reason)
	assert.Equal(t, time.Minute, tr.OpenFor)
	assert.Equal(t, t0.Add(time.Minute), m.Snapshot(t0).OpenUntil)
	assert.False(t, m.Allow(t0.Add(59*time.Second)).Allowed, "the period given, not the policy's second")
	probe := m.Allow(t0.Add(time.Minute))
	assert.True(t, probe.Allowed && probe.Permit.Probe, "a probe once the period is over")

	// From OPEN, a new period replaces the old.
	m.OpenFor(t0.Add(time.Minute), 10*time.Second, "again")
	assert.Equal(t, t0.Add(70*time.Second), m.Snapshot(t0).OpenUntil)
	// It does not grow the policy's next open period: the next trip opens for OpenTimeout.
	m.Reset(t0.Add(2 * time.Minute))
	now := t0.Add(2 * time.Minute)
	for range 3 {
		call(t, m, now, errBoom)
	}
	assert.Equal(t, now.Add(time.Second), m.Snapshot(now).OpenUntil)
}

// HalfOpen moves to HALF_OPEN at once, from any state, admitting at most
// the probes given at once and never more than the policy's; a count that
// is not positive changes nothing, and the next HALF_OPEN is the policy's.
func TestHalfOpen(t *testing.T) {
	m := newMachine(t, Policy{FailureThreshold: 3, OpenTimeout: time.Second, HalfOpenProbes: 3, SuccessesToClose: 2})
	assert.Equal(t, Transition{}, m.HalfOpen(t0, 0, "nothing"))
	m.OpenFor(t0, time.Hour, "fleet")

	tr := m.HalfOpen(t0, 1, "fleet grants a probe")
	assert.Equal(t, messages.Open, tr.From)
	assert.Equal(t, messages.HalfOpen, tr.To)
	assert.Equal(t, "fleet grants a probe", tr.Reason)
	first := m.Allow(t0)
	require.True(t, first.Allowed && first.Permit.Probe)
	assert.False(t, m.Allow(t0).Allowed, "one probe at once, not the policy's three")
	m.Report(t0, first.Permit, nil, 0)
	second := m.Allow(t0)
	require.True(t, second.Allowed, "a probe that reported frees its place")
	assert.Equal(t, messages.Closed, m.Report(t0, second.Permit, nil, 0).To, "SuccessesToClose still closes")

	// A grant past the policy's is the policy's.
	m.HalfOpen(t0, 10, "more")
	for range 3 {
		require.True(t, m.Allow(t0).Allowed)
	}
	assert.False(t, m.Allow(t0).Allowed)

	// After a failed probe and the open period, the policy's count again.
	m.HalfOpen(t0, 1, "one")
	p := m.Allow(t0)
	assert.Equal(t, messages.Open, m.Report(t0, p.Permit, errBoom, 0).To)
	later := t0.Add(time.Minute)
	for range 3 {
		require.True(t, m.Allow(later).Allowed)
	}
}
