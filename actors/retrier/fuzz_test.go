package retrier

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
)

// FuzzPolicyValidate checks that Validate never panics and that its errors
// name fields and match ErrInvalidPolicy.
func FuzzPolicyValidate(f *testing.F) {
	f.Add(3, int64(time.Second), 2.0, int64(time.Minute), uint8(0), 0.0)
	f.Add(-1, int64(-1), math.NaN(), int64(-1), uint8(200), 2.0)
	f.Add(0, int64(math.MaxInt64), math.MaxFloat64, int64(0), uint8(4), 1.0)
	f.Fuzz(func(t *testing.T, attempts int, initial int64, mult float64, maxDelay int64, jitter uint8, factor float64) {
		p := Policy{MaxAttempts: attempts, InitialDelay: time.Duration(initial), Multiplier: mult,
			MaxDelay: time.Duration(maxDelay), Jitter: Jitter(jitter), JitterFactor: factor}
		if err := p.Validate(); err != nil {
			if !errors.Is(err, messages.ErrInvalidPolicy) || len(policyerr.Fields(err)) == 0 {
				t.Fatalf("error %v names no field", err)
			}
			return
		}
		d := p.WithDefaults()
		if d.MaxAttempts < 1 || d.InitialDelay < 0 || d.Multiplier < 1 || d.MaxDelay < d.InitialDelay {
			t.Fatalf("defaults broke the policy: %+v", d)
		}
	})
}

// FuzzBackoffBounds checks that every delay of a valid policy lies in
// [0, MaxDelay] and that Next never plans past the deadline.
func FuzzBackoffBounds(f *testing.F) {
	f.Add(int64(time.Second), 2.0, int64(time.Minute), uint8(0), 0.2, 1, int64(0), 0.5, int64(time.Hour))
	f.Add(int64(1), 1e300, int64(math.MaxInt64), uint8(3), 1.0, 10_000, int64(math.MaxInt64), 0.999, int64(1))
	f.Add(int64(math.MaxInt64/3), math.MaxFloat64, int64(math.MaxInt64), uint8(4), 1.0, 64, int64(5), 0.0, int64(0))
	f.Fuzz(func(t *testing.T, initial int64, mult float64, maxDelay int64, jitter uint8, factor float64,
		retry int, prev int64, rnd float64, budget int64) {
		p := Policy{InitialDelay: time.Duration(initial), Multiplier: mult, MaxDelay: time.Duration(maxDelay),
			Jitter: Jitter(jitter), JitterFactor: factor, MaxAttempts: 1 << 30}
		if p.Validate() != nil || prev < 0 {
			return
		}
		d := p.Delay(retry, time.Duration(prev), rnd)
		if d < 0 || d > p.WithDefaults().MaxDelay {
			t.Fatalf("delay %v outside [0, %v]", d, p.WithDefaults().MaxDelay)
		}
		if budget <= 0 {
			return
		}
		deadline := t0.Add(time.Duration(budget))
		if s := p.Next(max(retry, 1), errors.New("x"), time.Duration(prev), t0, deadline, rnd); s.Retry() && !s.At.Before(deadline) {
			t.Fatalf("retry at %s, deadline %s", s.At, deadline)
		}
	})
}
