package breaker

import (
	"time"

	"github.com/warden-go/warden/messages"
)

// View is what a breaker actor publishes after every change: the
// machine's snapshot and what callers need to decide without a message.
// A View is immutable; load the latest with Actor.View.
type View struct {
	Snapshot
	// Name is the breaker's name, as given to NewActor.
	Name string
	// HalfOpenProbes is the policy's limit of concurrent probes.
	HalfOpenProbes int
	// everyOutcome says that a rate rule is on, so every outcome moves
	// the window and must be reported.
	everyOutcome bool
	// failuresSeen is the number of failure reports the actor had
	// handled when it published this view.
	failuresSeen uint64
}

// Verdict is the answer of View.Admit.
type Verdict uint8

const (
	// Admitted: run the call under Admission.Permit.
	Admitted Verdict = iota
	// Rejected: the breaker is open, forced open, or has no probe permit
	// left; do not run the call.
	Rejected
	// ProbeNeeded: the call may run only as a HALF_OPEN probe, which the
	// breaker actor grants (Actor.RequestProbe).
	ProbeNeeded
)

var verdictNames = [...]string{"admitted", "rejected", "probe needed"}

// String returns the verdict's name.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict?"
}

// Admission is the answer to one call's request to run.
type Admission struct {
	Verdict Verdict
	// Permit goes back with the call's outcome (Admitted only).
	Permit Permit
	// RetryAfter is how long until the open period ends (Rejected by an
	// OPEN breaker only).
	RetryAfter time.Duration
	// Until, for a rejection, is when the verdict stops holding for this
	// view (the end of the open period); zero means for as long as this
	// view is the latest.
	Until time.Time
}

// AdmitsAll reports whether Admit admits every call, whatever the time it
// is given: the breaker is CLOSED or Disabled.
func (v *View) AdmitsAll() bool {
	return v.State == messages.Closed || v.State == messages.Disabled
}

// Admit decides at now whether a call may run, without a message and
// without changing anything: CLOSED and Disabled admit under the
// generation's permit; OPEN rejects until its period ends and then asks
// for a probe; HALF_OPEN asks for a probe while permits are left;
// ForcedOpen rejects.
func (v *View) Admit(now time.Time) Admission {
	switch v.State {
	case messages.Closed, messages.Disabled:
		return Admission{Verdict: Admitted, Permit: Permit{Generation: v.Generation}}
	case messages.Open:
		if left := v.OpenUntil.Sub(now); left > 0 {
			return Admission{Verdict: Rejected, RetryAfter: left, Until: v.OpenUntil}
		}
		return Admission{Verdict: ProbeNeeded}
	case messages.HalfOpen:
		if v.ProbesInFlight < v.HalfOpenProbes {
			return Admission{Verdict: ProbeNeeded}
		}
	}
	return Admission{Verdict: Rejected}
}

// OpenError is the error for a call that Admit rejects: a
// *messages.CircuitOpenError with the breaker's name, the failure run that
// tripped it, the last failure and when a probe may run. It holds for
// every call the same verdict turns away.
func (v *View) OpenError(a Admission) *messages.CircuitOpenError {
	return &messages.CircuitOpenError{
		Name: v.Name, FailureCount: v.TripFailures, LastFailure: v.LastFailure, Until: a.Until,
	}
}

// NeedsReport says whether the outcome of a call made under p must reach
// the breaker. failuresSent is the number of failure reports sent so far
// (Actor.Report keeps it). A success or an ignored outcome under a CLOSED
// or Disabled permit of this view's generation changes nothing while no
// rate rule is on, there is no failure run, and no failure report is still
// on its way: it needs no report, nor does one of an older generation.
// Failures and probe outcomes always do.
func (v *View) NeedsReport(p Permit, o messages.Outcome, failuresSent uint64) bool {
	if o == messages.Failure || p.Probe {
		return true
	}
	if p.Generation != v.Generation {
		return false // from an older generation: it would change nothing
	}
	return v.everyOutcome || v.ConsecutiveFailures > 0 || failuresSent != v.failuresSeen
}
