package breaker

import (
	"time"

	"github.com/warden-go/warden/messages"
)

// Report records the outcome of a call made under permit p. err is the
// call's error (classified with Policy.Classify) and elapsed its duration.
// An outcome for a permit of an older generation, or for a probe already
// reported or reclaimed, is counted as stale and changes nothing else.
func (m *Machine) Report(now time.Time, p Permit, err error, elapsed time.Duration) Transition {
	return m.ReportOutcome(now, p, m.p.Classify(err), elapsed)
}

// ReportOutcome is Report with the outcome already classified, taken in
// the order reports arrive.
func (m *Machine) ReportOutcome(now time.Time, p Permit, o messages.Outcome, elapsed time.Duration) Transition {
	return m.Record(now, Report{Permit: p, Outcome: o, Elapsed: elapsed})
}

// Report is the outcome of one call made under a permit.
type Report struct {
	Permit  Permit
	Outcome messages.Outcome
	// Elapsed is how long the call ran, for the slow-call rule.
	Elapsed time.Duration
	// Seq, when not zero, is the call's place in the order in which calls
	// ended, so a report that arrives after a later one still counts in
	// its place: a failure that ended before a reported success does not
	// extend the failure run. Zero means the order of arrival.
	Seq uint64
}

// Record records a classified outcome. An outcome for a permit of an
// older generation, or for a probe already reported or reclaimed, is
// counted as stale and changes nothing else.
func (m *Machine) Record(now time.Time, r Report) Transition {
	p, o := r.Permit, r.Outcome
	if p.Generation != m.generation || (p.Probe && !m.takeProbe(p.Seq)) {
		m.counts.Stale++
		return Transition{}
	}
	if p.Probe != (m.state == messages.HalfOpen) {
		// A permit of this generation always matches its state; anything
		// else is a forged permit and is dropped the same way.
		m.counts.Stale++
		return Transition{}
	}
	slow := m.p.SlowCallDuration > 0 && r.Elapsed >= m.p.SlowCallDuration
	m.counts.Calls++
	switch o {
	case messages.Ignored:
		m.counts.Ignored++
		return Transition{}
	case messages.Success:
		m.counts.Successes++
		m.run.success(r.Seq)
	default:
		m.counts.Failures++
		m.counts.LastFailure = now
		m.run.failure(r.Seq)
	}
	m.counts.ConsecutiveFailures = m.run.len()
	if slow {
		m.counts.Slow++
	}
	switch m.state {
	case messages.Closed, messages.Disabled:
		m.win.record(now, o == messages.Failure, slow)
		if m.state == messages.Closed {
			if reason := m.tripReason(now); reason != "" {
				return m.trip(now, reason)
			}
		}
	case messages.HalfOpen:
		if o == messages.Failure || (slow && m.p.SlowCallRateThreshold > 0) {
			return m.trip(now, "probe failed")
		}
		m.probeSuccess++
		if m.probeSuccess >= m.p.SuccessesToClose {
			m.opens = 0
			return m.to(now, messages.Closed, "probes succeeded")
		}
	}
	return Transition{}
}

// RecordCounts records outcomes counted elsewhere (another breaker's, a
// fleet's), without permits: successes, then failures, as if each had
// been admitted and reported in turn, at a cost that does not grow with
// the counts (beyond a count-based window's length). It records only in
// CLOSED or DISABLED, the states that admit every call; in any other it
// changes nothing, as the calls would have been turned away. None is
// slow: a slow-call rule sees nothing of them.
func (m *Machine) RecordCounts(now time.Time, successes, failures int) Transition {
	if (m.state != messages.Closed && m.state != messages.Disabled) || successes < 0 || failures < 0 {
		return Transition{}
	}
	add := func(n int, failure bool) Transition {
		if n == 0 {
			return Transition{}
		}
		m.counts.Calls += uint64(n)
		if failure {
			m.counts.Failures += uint64(n)
			m.counts.LastFailure = now
			m.run.older += n // failure(0), n times
		} else {
			m.counts.Successes += uint64(n)
			m.run.success(0)
		}
		m.counts.ConsecutiveFailures = m.run.len()
		m.win.recordN(now, n, failure)
		if m.state == messages.Closed {
			if reason := m.tripReason(now); reason != "" {
				return m.trip(now, reason)
			}
		}
		return Transition{}
	}
	if t := add(successes, false); t.Changed() {
		return t
	}
	return add(failures, true)
}

// recordFailure counts a failure that time alone decided (a probe that
// never reported), after every call that ended before it.
func (m *Machine) recordFailure(now time.Time) {
	m.counts.Failures++
	m.counts.LastFailure = now
	m.run.failure(0)
	m.counts.ConsecutiveFailures = m.run.len()
}
