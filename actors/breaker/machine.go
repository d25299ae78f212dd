package breaker

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/warden-go/warden/internal/backoff"
	"github.com/warden-go/warden/messages"
)

// Permit is the right to make one call through a breaker. It records the
// generation it was granted in, so an outcome reported after the breaker
// has moved on changes nothing.
type Permit struct {
	// Generation is the breaker's generation when the permit was granted.
	Generation uint64
	// Probe is set for a HALF_OPEN probe permit; Seq then names it.
	Probe bool
	// Seq identifies a probe permit within its generation.
	Seq uint64
}

// Decision is the answer to Allow.
type Decision struct {
	// Allowed says whether the call may run.
	Allowed bool
	// Permit must be handed back to Report with the call's outcome.
	Permit Permit
	// RetryAfter, when the call was rejected by an open breaker, is how
	// long until a probe may be admitted.
	RetryAfter time.Duration
	// Transition is the state change that Allow made, if any (OPEN to
	// HALF_OPEN when the open period is over).
	Transition Transition
}

// Transition describes a change of state. The zero Transition (From ==
// To) means nothing changed.
type Transition struct {
	From, To messages.State
	// At is the instant of the change.
	At time.Time
	// Generation is the new generation.
	Generation uint64
	// Reason says why, such as "consecutive failures".
	Reason string
	// OpenFor is the open period, when To is Open.
	OpenFor time.Duration
}

// Changed reports whether the transition changed the state.
func (t Transition) Changed() bool { return t.From != t.To }

// Counts are the breaker's running totals, for Stats.
type Counts struct {
	// Calls is every outcome reported in the current generation or
	// earlier: Successes + Failures + Ignored.
	Calls, Successes, Failures, Ignored uint64
	// Rejected counts calls turned away by Allow.
	Rejected uint64
	// Slow counts calls at or above SlowCallDuration.
	Slow uint64
	// Stale counts outcomes dropped because their permit was from an older
	// generation or had already been reclaimed.
	Stale uint64
	// ConsecutiveFailures is the current run of failures.
	ConsecutiveFailures int
	// WindowCalls is the number of calls in the sliding window.
	WindowCalls int
	// FailureRate and SlowRate are the window's shares, 0 while empty.
	FailureRate, SlowRate float64
	// LastFailure is when the last failure was reported.
	LastFailure time.Time
}

// Snapshot is the breaker's state and counts at one instant.
type Snapshot struct {
	State      messages.State
	Generation uint64
	// OpenUntil is when an OPEN breaker will admit a probe.
	OpenUntil time.Time
	// ProbesInFlight is the number of outstanding HALF_OPEN permits.
	ProbesInFlight int
	// TripFailures is the consecutive-failure count when it last tripped.
	TripFailures int
	Counts
}

type probe struct {
	seq uint64
	at  time.Time
}

// Machine is a circuit breaker's state machine. Time is passed in and
// decisions are returned; it starts no goroutine and reads no clock. It is
// not safe for concurrent use.
type Machine struct {
	p   Policy // with defaults applied
	rng *rand.Rand

	state      messages.State
	generation uint64
	openUntil  time.Time
	opens      int // consecutive opens without a close, for the growing open period

	probes       []probe
	probeLimit   int // HalfOpen's cap on probes at once, 0 for the policy's
	probeSeq     uint64
	probeSuccess int
	tripFailures int

	win    *window
	run    failureRun
	counts Counts
}

// NewMachine returns a CLOSED machine for a valid policy; an invalid policy
// returns an error matching messages.ErrInvalidPolicy. seed drives the
// open-period jitter, so machines given different seeds do not probe in
// step.
func NewMachine(p Policy, seed uint64) (*Machine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	return &Machine{
		p:   p,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		win: newWindow(p),
	}, nil
}

// Policy returns the policy in force, with defaults filled in.
func (m *Machine) Policy() Policy { return m.p }

// State returns the current state, without applying any lazy transition.
func (m *Machine) State() messages.State { return m.state }

// Allow asks to make one call at now. OPEN turns into HALF_OPEN here once
// its open period is over; a HALF_OPEN probe that has not reported within
// MaxHalfOpenWait counts as failed first.
func (m *Machine) Allow(now time.Time) Decision {
	t := m.Tick(now)
	var d Decision
	switch m.state {
	case messages.Closed, messages.Disabled:
		d = Decision{Allowed: true, Permit: Permit{Generation: m.generation}}
	case messages.Open:
		d = Decision{RetryAfter: m.openUntil.Sub(now)}
	case messages.HalfOpen:
		limit := m.p.HalfOpenProbes
		if m.probeLimit > 0 {
			limit = min(limit, m.probeLimit)
		}
		if len(m.probes) < limit {
			m.probeSeq++
			m.probes = append(m.probes, probe{seq: m.probeSeq, at: now})
			d = Decision{Allowed: true, Permit: Permit{Generation: m.generation, Probe: true, Seq: m.probeSeq}}
		}
	}
	if !d.Allowed {
		m.counts.Rejected++
	}
	d.Transition = t
	return d
}

// Tick applies the transitions that time alone causes: OPEN becomes
// HALF_OPEN when its period is over, and a HALF_OPEN probe that has not
// reported within MaxHalfOpenWait re-opens the breaker. Allow calls it; an
// owner that wants these transitions on time calls it from a timer.
func (m *Machine) Tick(now time.Time) Transition {
	switch m.state {
	case messages.Open:
		if !now.Before(m.openUntil) {
			return m.to(now, messages.HalfOpen, "open period over")
		}
	case messages.HalfOpen:
		for _, p := range m.probes {
			if now.Sub(p.at) >= m.p.MaxHalfOpenWait {
				m.recordFailure(now)
				return m.trip(now, "probe did not report")
			}
		}
	}
	return Transition{}
}

// ForceOpen holds the breaker open, rejecting every call, until Reset.
func (m *Machine) ForceOpen(now time.Time) Transition {
	return m.to(now, messages.ForcedOpen, "forced open")
}

// OpenFor opens the breaker for d from now, as a trip would, whatever
// its state: for an operator's maintenance window, or to follow a
// breaker elsewhere that opened (a fleet's). Its open period is d, not
// the policy's, and it does not count as a trip for the growth of the
// next open period. A d that is not positive changes nothing.
func (m *Machine) OpenFor(now time.Time, d time.Duration, reason string) Transition {
	if d <= 0 {
		return Transition{}
	}
	failures := m.counts.ConsecutiveFailures
	t := m.to(now, messages.Open, reason)
	m.tripFailures = failures
	m.openUntil = now.Add(d)
	t.OpenFor = d
	return t
}

// HalfOpen moves the breaker to HALF_OPEN now, whatever its state,
// admitting at most probes probes at once (never more than the policy's
// HalfOpenProbes): to follow a breaker elsewhere that grants this one its
// probes (a fleet's). A probes that is not positive changes nothing.
func (m *Machine) HalfOpen(now time.Time, probes int, reason string) Transition {
	if probes <= 0 {
		return Transition{}
	}
	t := m.to(now, messages.HalfOpen, reason)
	m.probeLimit = probes
	return t
}

// Disable admits every call and keeps counting, but never trips, until
// Reset.
func (m *Machine) Disable(now time.Time) Transition {
	return m.to(now, messages.Disabled, "disabled")
}

// Reset closes the breaker and clears its window and failure run.
func (m *Machine) Reset(now time.Time) Transition {
	m.opens = 0
	return m.to(now, messages.Closed, "reset")
}

// Snapshot returns the state and counts as of now, without applying lazy
// transitions.
func (m *Machine) Snapshot(now time.Time) Snapshot {
	c := m.counts
	c.WindowCalls, c.FailureRate, c.SlowRate = m.rates(now)
	return Snapshot{
		State:          m.state,
		Generation:     m.generation,
		OpenUntil:      m.openUntil,
		ProbesInFlight: len(m.probes),
		TripFailures:   m.tripFailures,
		Counts:         c,
	}
}

func (m *Machine) takeProbe(seq uint64) bool {
	for i, p := range m.probes {
		if p.seq == seq {
			m.probes = append(m.probes[:i], m.probes[i+1:]...)
			return true
		}
	}
	return false
}

func (m *Machine) rates(now time.Time) (calls int, failRate, slowRate float64) {
	calls, failures, slow := m.win.totals(now)
	if calls == 0 {
		return 0, 0, 0
	}
	return calls, float64(failures) / float64(calls), float64(slow) / float64(calls)
}

func (m *Machine) tripReason(now time.Time) string {
	if m.p.FailureThreshold > 0 && m.counts.ConsecutiveFailures >= m.p.FailureThreshold {
		return "consecutive failures"
	}
	if m.p.FailureRateThreshold == 0 && m.p.SlowCallRateThreshold == 0 {
		return ""
	}
	calls, failRate, slowRate := m.rates(now)
	if calls < m.p.MinimumCalls {
		return ""
	}
	if m.p.FailureRateThreshold > 0 && failRate >= m.p.FailureRateThreshold {
		return "failure rate"
	}
	if m.p.SlowCallRateThreshold > 0 && slowRate >= m.p.SlowCallRateThreshold {
		return "slow-call rate"
	}
	return ""
}

// trip opens the breaker for the next open period.
func (m *Machine) trip(now time.Time, reason string) Transition {
	m.opens++
	d := m.openPeriod()
	m.tripFailures = m.counts.ConsecutiveFailures
	t := m.to(now, messages.Open, reason)
	m.openUntil = now.Add(d)
	t.OpenFor = d
	return t
}

// openPeriod is OpenTimeout grown by the multiplier for each consecutive
// open, capped, then spread by the jitter, which may take it past the cap.
func (m *Machine) openPeriod() time.Duration {
	e := backoff.Exponential{Initial: m.p.OpenTimeout, Multiplier: m.p.OpenTimeoutMultiplier, Max: m.p.MaxOpenTimeout}
	if j := m.p.OpenTimeoutJitter; j > 0 {
		return backoff.Proportional(e.Base(m.opens), j, m.rng.Float64(), math.MaxInt64)
	}
	return e.Base(m.opens)
}

// to moves to state s, starting a new generation, and returns the
// transition. Moving to the current state still starts a new generation
// (a reset of a CLOSED breaker clears its counts) but reports no change.
func (m *Machine) to(now time.Time, s messages.State, reason string) Transition {
	t := Transition{From: m.state, To: s, At: now, Reason: reason}
	m.state = s
	m.generation++
	t.Generation = m.generation
	m.probes = m.probes[:0]
	m.probeLimit = 0
	m.probeSuccess = 0
	m.openUntil = time.Time{}
	if s != messages.Disabled {
		m.win.reset()
		m.run.reset()
		m.counts.ConsecutiveFailures = 0
	}
	return t
}

// NextTick returns when Tick next has work to do: the end of the open
// period in OPEN, the earliest probe deadline in HALF_OPEN. ok is false
// when no time-driven transition is pending.
func (m *Machine) NextTick() (at time.Time, ok bool) {
	switch m.state {
	case messages.Open:
		return m.openUntil, true
	case messages.HalfOpen:
		for _, p := range m.probes {
			if d := p.at.Add(m.p.MaxHalfOpenWait); !ok || d.Before(at) {
				at, ok = d, true
			}
		}
	}
	return at, ok
}
