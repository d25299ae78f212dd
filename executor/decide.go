package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/messages"
)

// outcome is the counter a job's end moves.
type outcome uint8

const (
	outSucceeded outcome = iota
	outFailed
	outTimedOut
	outShortCircuited
	outRejected
	outCancelled
	outPanicked
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"succeeded", "failed", "timed_out", "short_circuited", "rejected", "cancelled", "panicked"}

func (o outcome) String() string { return outcomeNames[o] }

// attemptEnd is how one attempt ended.
// succeeded is the verdict on an attempt that returned nil in time.
var succeeded = verdict{report: true, outcome: messages.Success, counter: outSucceeded}

// plainSuccess says that a is an attempt that returned nil in time, whose
// verdict is succeeded whatever the rest of the decision.
func (a attemptEnd) plainSuccess() bool {
	return a.err == nil && !a.timedOut && !a.cancelled && !a.panicked
}

type attemptEnd struct {
	attempt int
	err     error // fn's error, a *PanicError, or nil
	// panicked says fn panicked (err is then a *PanicError); timedOut
	// that the attempt passed its deadline (err is then ignored).
	panicked, timedOut bool
	// cancelled says the attempt's job was ended from outside (its
	// caller cancelled, or shutdown): the attempt is not the
	// dependency's failure.
	cancelled bool
}

// verdict is what follows an attempt, decided by decide and carried out
// by the attempt's holder.
type verdict struct {
	// report says the breaker must hear of the attempt, as outcome.
	report  bool
	outcome messages.Outcome
	// retry says another attempt runs after delay (at).
	retry bool
	delay time.Duration
	at    time.Time
	// err and counter are the job's end, when it does not retry.
	err     error
	counter outcome
	// last is the attempt's error (a *TimeoutError if it timed out).
	last error
}

// decision is everything decide reads: the dependency's policy, the
// job's deadline and the delay before the attempt just made.
type decision struct {
	policy    *Policy // defaults applied
	op        string
	deadline  time.Time
	budget    time.Duration // from submission to the deadline
	prevDelay time.Duration
}

// decide is the whole choice after an attempt: whether the breaker hears
// of it, whether and when to retry, and otherwise the job's error and its
// counter. It reads no clock and no shared state: now and rnd (uniform in
// [0, 1)) come in.
func decide(d decision, a attemptEnd, now time.Time, rnd float64) verdict {
	p := d.policy
	perAttempt := p.BreakerCounts == PerAttempt
	var v verdict
	switch {
	case a.cancelled:
		return verdict{report: true, outcome: messages.Ignored}
	case a.timedOut:
		budget := p.AttemptTimeout
		if budget == 0 || !now.Before(d.deadline) {
			budget = d.budget
		}
		a.err = &messages.TimeoutError{Operation: d.op, Duration: budget, Kind: p.TimeoutKind}
		v.counter = outTimedOut
	case a.panicked:
		// A panic is a bug, not a transient fault: never retried.
		return verdict{report: true, outcome: messages.Failure, err: a.err, counter: outPanicked}
	case a.err == nil:
		return succeeded
	default:
		v.counter = outFailed
		if errors.Is(a.err, context.Canceled) || errors.Is(a.err, context.DeadlineExceeded) {
			// fn gave back its context's end: the job's deadline is a
			// timeout of the dependency's, as if the attempt timed out.
			if !now.Before(d.deadline) {
				return decide(d, attemptEnd{attempt: a.attempt, timedOut: true}, now, rnd)
			}
		}
	}
	v.outcome = p.Breaker.Classify(a.err)
	v.last = a.err
	step := p.Retry.Next(a.attempt, a.err, d.prevDelay, now, d.deadline, rnd)
	if step.Retry() {
		v.report = perAttempt
		v.retry, v.delay, v.at = true, step.Delay, step.At
		return v
	}
	v.report = true
	v.err = a.err
	if a.attempt > 1 && (step.Stop == retrier.Exhausted || step.Stop == retrier.DeadlineReached) {
		v.err = &messages.RetryError{Attempts: a.attempt, Last: a.err}
	}
	return v
}

// refusedRetry is the end of a job whose retry the breaker turned away:
// it matches ErrCircuitOpen (and *CircuitOpenError) and the last
// attempt's error.
type refusedRetry struct {
	open     *messages.CircuitOpenError
	last     error
	attempts int
}

func (e *refusedRetry) Error() string {
	return fmt.Sprintf("warden: circuit open for %q after %d attempts: %v", e.open.Name, e.attempts, e.last)
}

func (e *refusedRetry) Unwrap() []error { return []error{e.open, e.last} }

// retryRefused is the job's end when a retry finds the breaker open: the
// job ran, so it counts as failed (timed out if its last attempt did).
func retryRefused(open *messages.CircuitOpenError, last error, attempts int) (outcome, error) {
	o := outFailed
	var te *messages.TimeoutError
	if errors.As(last, &te) {
		o = outTimedOut
	}
	return o, &refusedRetry{open: open, last: last, attempts: attempts}
}

// admitRetry is the breaker's answer to a retry, per the policy's order.
func admitRetry(p *Policy, v *breaker.View, now time.Time, permit breaker.Permit) breaker.Admission {
	if p.BreakerCounts == PerJob {
		return breaker.Admission{Verdict: breaker.Admitted, Permit: permit} // the job's permit holds
	}
	return v.Admit(now)
}
