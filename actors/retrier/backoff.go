package retrier

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/warden-go/warden/internal/backoff"
)

// StopReason says why Next stops retrying. The zero value, Retrying, means
// it does not stop.
type StopReason uint8

const (
	// Retrying means another attempt is planned.
	Retrying StopReason = iota
	// Succeeded means the attempt returned no error.
	Succeeded
	// PermanentError means the error was marked with Permanent.
	PermanentError
	// NotRetryable means the policy's lists or predicate rule the error out.
	NotRetryable
	// Canceled means the error is a cancellation (context.Canceled).
	Canceled
	// Exhausted means MaxAttempts attempts have been made.
	Exhausted
	// DeadlineReached means the next attempt could not start before the
	// job's deadline.
	DeadlineReached
)

var stopNames = [...]string{"retrying", "succeeded", "permanent", "not retryable", "canceled", "exhausted", "deadline"}

// String returns the reason's name.
func (r StopReason) String() string {
	if int(r) < len(stopNames) {
		return stopNames[r]
	}
	return "stopreason(" + strconv.Itoa(int(r)) + ")"
}

// Step is Next's decision.
type Step struct {
	// Stop is Retrying when a retry is planned, else why not.
	Stop StopReason
	// Delay is the wait before the retry.
	Delay time.Duration
	// At is now + Delay.
	At time.Time
}

// Retry reports whether a retry is planned.
func (s Step) Retry() bool { return s.Stop == Retrying }

// Next decides what follows attempt number attempt (1 for the first), which
// ended with err at now. prev is the delay waited before this attempt (zero
// before the first), used by DecorrelatedJitter. deadline is the job's
// deadline, zero for none. rnd is a uniform random number in [0, 1).
//
// A retry is planned only when the error is retryable, fewer than
// MaxAttempts attempts were made, and the retry would start before the
// deadline. A delay asked for with RetryAfter replaces the backoff.
func (p Policy) Next(attempt int, err error, prev time.Duration, now, deadline time.Time, rnd float64) Step {
	p = p.WithDefaults()
	if r := p.classify(err); r != Retrying {
		return Step{Stop: r}
	}
	if attempt >= p.MaxAttempts {
		return Step{Stop: Exhausted}
	}
	d, ok := RequestedDelay(err)
	if !ok {
		d = p.Delay(attempt, prev, rnd)
	}
	at := now.Add(d)
	if !deadline.IsZero() && !at.Before(deadline) {
		return Step{Stop: DeadlineReached, Delay: d}
	}
	return Step{Delay: d, At: at}
}

// Delay returns the wait before retry number retry (1 before the second
// attempt), with jitter drawn from rnd in [0, 1). prev is the previous
// delay, used by DecorrelatedJitter. The result lies in [0, MaxDelay] for
// every input, with no overflow.
func (p Policy) Delay(retry int, prev time.Duration, rnd float64) time.Duration {
	p = p.WithDefaults()
	e := p.exponential()
	switch p.Jitter {
	case NoJitter:
		return e.Base(retry)
	case EqualJitter:
		return backoff.Equal(e.Base(retry), rnd)
	case DecorrelatedJitter:
		return e.Decorrelated(prev, rnd)
	case ProportionalJitter:
		return backoff.Proportional(e.Base(retry), p.JitterFactor, rnd, e.Max)
	default: // FullJitter
		return backoff.Full(e.Base(retry), rnd)
	}
}

// Backoff returns the delay before retry number retry without jitter:
// InitialDelay x Multiplier^(retry-1), capped at MaxDelay.
func (p Policy) Backoff(retry int) time.Duration {
	return p.WithDefaults().exponential().Base(retry)
}

// exponential is p's backoff schedule; p has its defaults applied.
func (p Policy) exponential() backoff.Exponential {
	return backoff.Exponential{Initial: p.InitialDelay, Multiplier: p.Multiplier, Max: p.MaxDelay}
}

func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }
