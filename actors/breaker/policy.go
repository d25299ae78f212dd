package breaker

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
)

// Defaults used for zero fields of a Policy.
const (
	// DefaultFailureThreshold is the consecutive-failure rule used when a
	// policy enables no trip rule at all.
	DefaultFailureThreshold = 5
	// DefaultOpenTimeout is how long the breaker stays open.
	DefaultOpenTimeout = 60 * time.Second
	// DefaultHalfOpenProbes is the number of concurrent probes in HALF_OPEN.
	DefaultHalfOpenProbes = 1
	// DefaultWindowSize is the count-based window length.
	DefaultWindowSize = 100
	// DefaultWindowBuckets is the number of buckets of a time-based window.
	DefaultWindowBuckets = 10
	// DefaultMinimumCalls is the number of calls a window must hold before
	// a rate rule may trip.
	DefaultMinimumCalls = 20
)

// Policy configures a circuit breaker. The zero value is a valid policy:
// five consecutive failures trip it, it stays open 60 seconds and admits one
// probe. Every zero field means its documented default; Validate rejects
// values that make no sense.
type Policy struct {
	// FailureThreshold trips the breaker after this many consecutive
	// failures (the original module's rule). Zero means
	// DefaultFailureThreshold when no rate rule is set, and "rule off" when
	// FailureRateThreshold or SlowCallRateThreshold is set.
	FailureThreshold int

	// FailureRateThreshold, in (0, 1], trips the breaker when the share of
	// failures in the window reaches it. Zero turns the rule off.
	FailureRateThreshold float64
	// SlowCallRateThreshold, in (0, 1], trips the breaker when the share of
	// slow calls in the window reaches it. Zero turns the rule off; setting
	// it requires SlowCallDuration.
	SlowCallRateThreshold float64
	// SlowCallDuration is the duration at or above which a call counts as
	// slow. Zero means no call is slow.
	SlowCallDuration time.Duration
	// MinimumCalls is the number of calls the window must hold before a rate
	// rule may trip. Zero means DefaultMinimumCalls, lowered to the window
	// size for a count-based window smaller than that.
	MinimumCalls int
	// WindowSize is the length of a count-based window: the last N calls.
	// Zero means DefaultWindowSize. Ignored when WindowDuration is set.
	WindowSize int
	// WindowDuration, when set, makes the window time-based: the calls of
	// the last WindowDuration, kept in WindowBuckets buckets.
	WindowDuration time.Duration
	// WindowBuckets splits a time-based window. Zero means
	// DefaultWindowBuckets. Each bucket must span at least a millisecond.
	WindowBuckets int

	// OpenTimeout is how long the breaker stays open before it admits a
	// probe (the original module's recovery_timeout). Zero means
	// DefaultOpenTimeout.
	OpenTimeout time.Duration
	// OpenTimeoutMultiplier, at least 1, grows the open period on each
	// re-open without an intervening close. Zero means 1 (no growth).
	OpenTimeoutMultiplier float64
	// MaxOpenTimeout caps the grown open period. Zero means no growth beyond
	// 32 times OpenTimeout when a multiplier is set.
	MaxOpenTimeout time.Duration
	// OpenTimeoutJitter, in [0, 1), spreads each open period by up to this
	// share either way, so breakers opened together do not probe together.
	OpenTimeoutJitter float64

	// HalfOpenProbes is the most probes admitted at once in HALF_OPEN.
	// Zero means DefaultHalfOpenProbes.
	HalfOpenProbes int
	// SuccessesToClose is the number of probe successes that close the
	// breaker; at most HalfOpenProbes. Zero means HalfOpenProbes.
	SuccessesToClose int
	// MaxHalfOpenWait is how long a probe may run without reporting before
	// it counts as failed, which re-opens the breaker and frees its permit.
	// Zero means OpenTimeout.
	MaxHalfOpenWait time.Duration

	// IsFailure says whether a non-nil error counts as a failure. Nil means
	// every error that IsIgnored does not claim is a failure.
	IsFailure func(error) bool
	// IsIgnored says whether an outcome changes nothing. Nil means only
	// context.Canceled is ignored: a caller's own cancellation never trips
	// a breaker. Checked before IsFailure.
	IsIgnored func(error) bool
}

// Database is the original module's database preset: three consecutive
// failures open the breaker for 30 seconds.
func Database() Policy {
	return Policy{FailureThreshold: 3, OpenTimeout: 30 * time.Second}
}

// ExternalAPI is the original module's external API preset: five
// consecutive failures open the breaker for 60 seconds.
func ExternalAPI() Policy {
	return Policy{FailureThreshold: 5, OpenTimeout: 60 * time.Second}
}

// Validate reports every invalid field, joined, each error matching
// messages.ErrInvalidPolicy. A nil result means New and NewMachine accept
// the policy.
func (p Policy) Validate() error {
	e := policyerr.New("breaker.Policy")
	e.Check(p.FailureThreshold >= 0, "FailureThreshold", p.FailureThreshold, "must not be negative")
	e.Check(rateOK(p.FailureRateThreshold), "FailureRateThreshold", p.FailureRateThreshold, "must be 0 (off) or in (0, 1]")
	e.Check(rateOK(p.SlowCallRateThreshold), "SlowCallRateThreshold", p.SlowCallRateThreshold, "must be 0 (off) or in (0, 1]")
	e.Check(p.SlowCallDuration >= 0, "SlowCallDuration", p.SlowCallDuration, "must not be negative")
	if p.SlowCallRateThreshold > 0 && p.SlowCallDuration == 0 {
		e.Add("SlowCallDuration", p.SlowCallDuration, "must be set when SlowCallRateThreshold is")
	}
	e.Check(p.MinimumCalls >= 0, "MinimumCalls", p.MinimumCalls, "must not be negative")
	e.Check(p.WindowSize >= 0, "WindowSize", p.WindowSize, "must not be negative")
	e.Check(p.WindowSize <= 1<<20, "WindowSize", p.WindowSize, "must be at most 1048576")
	e.Check(p.WindowDuration >= 0, "WindowDuration", p.WindowDuration, "must not be negative")
	e.Check(p.WindowBuckets >= 0 && p.WindowBuckets <= 1<<16, "WindowBuckets", p.WindowBuckets, "must be in [0, 65536]")
	if p.WindowDuration > 0 {
		if b := p.withDefaults().WindowBuckets; p.WindowBuckets >= 0 && p.WindowDuration/time.Duration(max(b, 1)) < time.Millisecond {
			e.Add("WindowDuration", p.WindowDuration, "must give each bucket at least 1ms")
		}
	}
	if p.MinimumCalls > 0 && p.WindowDuration == 0 && p.MinimumCalls > p.withDefaults().WindowSize && p.WindowSize >= 0 {
		e.Add("MinimumCalls", p.MinimumCalls, "must not exceed WindowSize")
	}
	e.Check(p.OpenTimeout >= 0, "OpenTimeout", p.OpenTimeout, "must not be negative")
	e.Check(p.OpenTimeoutMultiplier == 0 || (p.OpenTimeoutMultiplier >= 1 && !math.IsInf(p.OpenTimeoutMultiplier, 0)),
		"OpenTimeoutMultiplier", p.OpenTimeoutMultiplier, "must be 0 (no growth) or a finite number >= 1")
	e.Check(p.MaxOpenTimeout >= 0, "MaxOpenTimeout", p.MaxOpenTimeout, "must not be negative")
	if p.MaxOpenTimeout > 0 && p.OpenTimeout >= 0 && p.MaxOpenTimeout < p.withDefaults().OpenTimeout {
		e.Add("MaxOpenTimeout", p.MaxOpenTimeout, "must not be below OpenTimeout")
	}
	e.Check(p.OpenTimeoutJitter >= 0 && p.OpenTimeoutJitter < 1, "OpenTimeoutJitter", p.OpenTimeoutJitter, "must be in [0, 1)")
	e.Check(p.HalfOpenProbes >= 0, "HalfOpenProbes", p.HalfOpenProbes, "must not be negative")
	e.Check(p.SuccessesToClose >= 0, "SuccessesToClose", p.SuccessesToClose, "must not be negative")
	if p.SuccessesToClose > 0 && p.HalfOpenProbes >= 0 && p.SuccessesToClose > p.withDefaults().HalfOpenProbes {
		e.Add("SuccessesToClose", p.SuccessesToClose, "must not exceed HalfOpenProbes")
	}
	e.Check(p.MaxHalfOpenWait >= 0, "MaxHalfOpenWait", p.MaxHalfOpenWait, "must not be negative")
	return e.Err()
}

// rateOK accepts 0 (rule off) and (0, 1]; NaN fails both comparisons.
func rateOK(r float64) bool { return r == 0 || (r > 0 && r <= 1) }

// withDefaults returns p with every zero field replaced by its default.
func (p Policy) withDefaults() Policy {
	if p.FailureThreshold == 0 && p.FailureRateThreshold == 0 && p.SlowCallRateThreshold == 0 {
		p.FailureThreshold = DefaultFailureThreshold
	}
	if p.WindowSize == 0 {
		p.WindowSize = DefaultWindowSize
	}
	if p.WindowBuckets == 0 {
		p.WindowBuckets = DefaultWindowBuckets
	}
	if p.MinimumCalls == 0 {
		p.MinimumCalls = DefaultMinimumCalls
		if p.WindowDuration == 0 && p.WindowSize < p.MinimumCalls {
			p.MinimumCalls = p.WindowSize
		}
	}
	if p.OpenTimeout == 0 {
		p.OpenTimeout = DefaultOpenTimeout
	}
	if p.OpenTimeoutMultiplier == 0 {
		p.OpenTimeoutMultiplier = 1
	}
	if p.MaxOpenTimeout == 0 {
		p.MaxOpenTimeout = p.OpenTimeout
		if p.OpenTimeoutMultiplier > 1 {
			p.MaxOpenTimeout = satMul(p.OpenTimeout, 32)
		}
	}
	if p.HalfOpenProbes == 0 {
		p.HalfOpenProbes = DefaultHalfOpenProbes
	}
	if p.SuccessesToClose == 0 {
		p.SuccessesToClose = p.HalfOpenProbes
	}
	if p.MaxHalfOpenWait == 0 {
		p.MaxHalfOpenWait = p.OpenTimeout
	}
	return p
}

// Classify turns an attempt's error into an Outcome under this policy:
// nil is a Success; IsIgnored (by default: context.Canceled) makes it
// Ignored; otherwise IsFailure (by default: every error) decides, and an
// error it does not claim counts as a Success, as an expected business
// error shows the dependency is healthy.
func (p Policy) Classify(err error) messages.Outcome {
	if err == nil {
		return messages.Success
	}
	if p.IsIgnored != nil {
		if p.IsIgnored(err) {
			return messages.Ignored
		}
	} else if errors.Is(err, context.Canceled) {
		return messages.Ignored
	}
	if p.IsFailure == nil || p.IsFailure(err) {
		return messages.Failure
	}
	return messages.Success
}

// satMul multiplies d by n, saturating at math.MaxInt64.
func satMul(d time.Duration, n int64) time.Duration {
	if d > 0 && int64(d) > math.MaxInt64/n {
		return math.MaxInt64
	}
	return d * time.Duration(n)
}
