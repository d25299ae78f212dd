package retrier

import (
	"math"
	"strconv"
	"time"

	"github.com/warden-go/warden/internal/policyerr"
)

// Defaults used for zero fields of a Policy.
const (
	DefaultMaxAttempts  = 3
	DefaultInitialDelay = time.Second
	DefaultMultiplier   = 2.0
	DefaultMaxDelay     = 60 * time.Second
	// DefaultJitterFactor is the spread of ProportionalJitter: +/- 20%.
	DefaultJitterFactor = 0.2
)

// Jitter chooses how a backoff delay is randomised. The zero value is
// FullJitter: under contention it spreads retries the most and, in AWS's
// well-known comparison, finishes the work with the fewest calls.
type Jitter uint8

const (
	// FullJitter waits a uniform random delay in [0, backoff].
	FullJitter Jitter = iota
	// NoJitter waits exactly the backoff (the original module's behaviour).
	NoJitter
	// EqualJitter waits half the backoff plus a uniform random half.
	EqualJitter
	// DecorrelatedJitter waits a uniform random delay in
	// [InitialDelay, 3 x previous delay], capped at MaxDelay.
	DecorrelatedJitter
	// ProportionalJitter waits the backoff spread by up to JitterFactor of
	// it either way.
	ProportionalJitter
)

var jitterNames = [...]string{"full", "none", "equal", "decorrelated", "proportional"}

// String returns the jitter mode's name, such as "full".
func (j Jitter) String() string {
	if int(j) < len(jitterNames) {
		return jitterNames[j]
	}
	return "jitter(" + strconv.Itoa(int(j)) + ")"
}

// Policy configures retries. The zero value is valid: three attempts in
// all, backoff from 1 second doubling up to 60 seconds with full jitter,
// retrying every error except permanent ones and cancellations.
type Policy struct {
	// MaxAttempts counts every attempt, the first included; 1 means no
	// retry. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// InitialDelay is the backoff before the first retry. Zero means
	// DefaultInitialDelay.
	InitialDelay time.Duration
	// Multiplier, at least 1, grows the backoff after each retry. Zero
	// means DefaultMultiplier.
	Multiplier float64
	// MaxDelay caps every delay. Zero means DefaultMaxDelay, raised to
	// InitialDelay if that is larger.
	MaxDelay time.Duration
	// Jitter randomises each delay; the zero value is FullJitter.
	Jitter Jitter
	// JitterFactor, in (0, 1], is the spread of ProportionalJitter. Zero
	// means DefaultJitterFactor.
	JitterFactor float64

	// RetryOn lists the errors worth retrying; see the package doc for
	// how entries match. With RetryIf, either one suffices. When both are
	// empty, every error not excluded is retried.
	RetryOn []error
	// RetryIf says whether an error is worth retrying.
	RetryIf func(error) bool
	// NeverRetry lists errors that are never retried, whatever else says.
	NeverRetry []error
}

// Standard is the original module's standard retry: three attempts, 1
// second initial delay doubling to a 60 second cap, retrying timeouts and
// connection errors (IsTransient) with full jitter.
func Standard() Policy {
	return Policy{
		MaxAttempts:  3,
		InitialDelay: time.Second,
		Multiplier:   2,
		MaxDelay:     60 * time.Second,
		Jitter:       FullJitter,
		RetryIf:      IsTransient,
	}
}

// Aggressive is Standard with five attempts.
func Aggressive() Policy {
	p := Standard()
	p.MaxAttempts = 5
	return p
}

// Validate reports every invalid field, joined, each error matching
// messages.ErrInvalidPolicy.
func (p Policy) Validate() error {
	e := policyerr.New("retrier.Policy")
	e.Check(p.MaxAttempts >= 0, "MaxAttempts", p.MaxAttempts, "must not be negative")
	e.Check(p.InitialDelay >= 0, "InitialDelay", p.InitialDelay, "must not be negative")
	e.Check(p.Multiplier == 0 || (p.Multiplier >= 1 && !math.IsInf(p.Multiplier, 0)),
		"Multiplier", p.Multiplier, "must be 0 (default) or a finite number >= 1")
	e.Check(p.MaxDelay >= 0, "MaxDelay", p.MaxDelay, "must not be negative")
	if p.MaxDelay > 0 && p.InitialDelay > p.MaxDelay {
		e.Add("MaxDelay", p.MaxDelay, "must not be below InitialDelay")
	}
	e.Check(p.Jitter <= ProportionalJitter, "Jitter", p.Jitter, "must be one of the Jitter constants")
	e.Check(p.JitterFactor == 0 || (p.JitterFactor > 0 && p.JitterFactor <= 1),
		"JitterFactor", p.JitterFactor, "must be 0 (default) or in (0, 1]")
	return e.Err()
}

// WithDefaults returns p with every zero field replaced by its default.
func (p Policy) WithDefaults() Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.InitialDelay == 0 {
		p.InitialDelay = DefaultInitialDelay
	}
	if p.Multiplier == 0 {
		p.Multiplier = DefaultMultiplier
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(DefaultMaxDelay, p.InitialDelay)
	}
	if p.JitterFactor == 0 {
		p.JitterFactor = DefaultJitterFactor
	}
	return p
}

// Retryable reports whether err is worth another attempt under p's lists
// and predicate, ignoring attempts and time. Nil, Permanent errors and
// cancellations are not.
func (p Policy) Retryable(err error) bool {
	return p.classify(err) == Retrying
}

func (p Policy) classify(err error) StopReason {
	switch {
	case err == nil:
		return Succeeded
	case IsPermanent(err):
		return PermanentError
	case isCanceled(err):
		return Canceled
	case matchAny(err, p.NeverRetry):
		return NotRetryable
	}
	if _, ok := RequestedDelay(err); ok {
		return Retrying
	}
	if len(p.RetryOn) == 0 && p.RetryIf == nil {
		return Retrying
	}
	if matchAny(err, p.RetryOn) || (p.RetryIf != nil && p.RetryIf(err)) {
		return Retrying
	}
	return NotRetryable
}
