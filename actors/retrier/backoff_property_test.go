package retrier

import (
	"errors"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func genPolicy(t *rapid.T) Policy {
	return Policy{
		MaxAttempts:  rapid.IntRange(0, 20).Draw(t, "attempts"),
		InitialDelay: time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "initial")),
		Multiplier:   rapid.SampledFrom([]float64{0, 1, 1.5, 2, 10, 1e6, math.MaxFloat64}).Draw(t, "mult"),
		MaxDelay:     time.Duration(rapid.Int64Range(int64(time.Hour), math.MaxInt64).Draw(t, "max")),
		Jitter:       Jitter(rapid.IntRange(0, int(ProportionalJitter)).Draw(t, "jitter")),
		JitterFactor: rapid.Float64Range(0, 1).Draw(t, "factor"),
	}
}

// bounds returns the interval a delay must lie in, derived from the
// documented meaning of each jitter mode.
func bounds(p Policy, retry int, prev time.Duration) (lo, hi float64) {
	p = p.WithDefaults()
	b := float64(p.InitialDelay) * math.Pow(p.Multiplier, float64(retry-1))
	b = math.Min(b, float64(p.MaxDelay))
	switch p.Jitter {
	case NoJitter:
		lo, hi = b, b
	case FullJitter:
		lo, hi = 0, b
	case EqualJitter:
		lo, hi = b/2, b
	case DecorrelatedJitter:
		lo, hi = float64(p.InitialDelay), 3*float64(max(prev, p.InitialDelay))
	case ProportionalJitter:
		lo, hi = b*(1-p.JitterFactor), b*(1+p.JitterFactor)
	}
	return math.Min(lo, float64(p.MaxDelay)), math.Min(hi, float64(p.MaxDelay))
}

func TestDelayWithinJitterBoundsAndCap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPolicy(t)
		if err := p.Validate(); err != nil {
			t.Skip("invalid policy")
		}
		retry := rapid.IntRange(1, 10_000).Draw(t, "retry")
		prev := time.Duration(rapid.Int64Range(0, math.MaxInt64).Draw(t, "prev"))
		rnd := rapid.Float64Range(0, 1).Draw(t, "rnd")
		d := p.Delay(retry, prev, rnd)
		lo, hi := bounds(p, retry, prev)
		slack := math.Max(hi*1e-9, 2) // float rounding and truncation to whole nanoseconds
		if float64(d) < lo-slack || float64(d) > hi+slack {
			t.Fatalf("delay %v outside [%v, %v] for %+v retry %d", d, time.Duration(lo), time.Duration(hi), p, retry)
		}
		if d < 0 || d > p.WithDefaults().MaxDelay {
			t.Fatalf("delay %v negative or above cap", d)
		}
	})
}

// A whole retry loop, driven by Next with a clock that jumps to each planned
// instant, makes at most MaxAttempts attempts, never plans a retry at or
// past the deadline, and stops for the right reason.
func TestNextRespectsAttemptsAndDeadline(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPolicy(t)
		if err := p.Validate(); err != nil {
			t.Skip("invalid policy")
		}
		p.InitialDelay = time.Duration(rapid.Int64Range(0, int64(time.Second)).Draw(t, "initialSmall"))
		var deadline time.Time
		if rapid.Bool().Draw(t, "hasDeadline") {
			deadline = t0.Add(time.Duration(rapid.Int64Range(0, int64(time.Minute)).Draw(t, "budget")))
		}
		failUntil := rapid.IntRange(1, 30).Draw(t, "failUntil")
		now, prev, attempts := t0, time.Duration(0), 0
		for {
			attempts++
			var err error
			if attempts < failUntil {
				err = errors.New("transient")
			}
			step := p.Next(attempts, err, prev, now, deadline, rapid.Float64Range(0, 1).Draw(t, "rnd"))
			if !step.Retry() {
				max := p.WithDefaults().MaxAttempts
				switch {
				case err == nil && step.Stop != Succeeded:
					t.Fatalf("success stopped as %s", step.Stop)
				case err != nil && attempts >= max && step.Stop != Exhausted:
					t.Fatalf("attempt %d of %d stopped as %s", attempts, max, step.Stop)
				case err != nil && attempts < max && step.Stop != DeadlineReached:
					t.Fatalf("attempt %d of %d stopped as %s", attempts, max, step.Stop)
				}
				break
			}
			if !deadline.IsZero() && !step.At.Before(deadline) {
				t.Fatalf("retry planned at %s, deadline %s", step.At, deadline)
			}
			if step.At != now.Add(step.Delay) || step.Delay < 0 {
				t.Fatalf("step %+v from %s", step, now)
			}
			now, prev = step.At, step.Delay
		}
		if attempts > p.WithDefaults().MaxAttempts {
			t.Fatalf("%d attempts, max %d", attempts, p.WithDefaults().MaxAttempts)
		}
	})
}
