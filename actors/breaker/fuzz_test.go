package breaker

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
)

// FuzzPolicyValidate checks that Validate never panics, that every error it
// returns names a field and matches ErrInvalidPolicy, and that a policy it
// accepts gives a Machine that keeps its invariants over a short run.
func FuzzPolicyValidate(f *testing.F) {
	f.Add(3, 0.0, 0.0, int64(0), 0, 0, int64(0), 0, int64(30e9), 0.0, int64(0), 0.0, 1, 0, int64(0))
	f.Add(0, 0.5, 0.8, int64(1e9), 10, 100, int64(0), 0, int64(60e9), 2.0, int64(600e9), 0.2, 3, 2, int64(5e9))
	f.Add(0, 1.0, 0.0, int64(0), 5, 0, int64(10e9), 10, int64(1e9), 1.0, int64(0), 0.0, 1, 1, int64(0))
	f.Add(-1, math.NaN(), 2.0, int64(-1), -1, -1, int64(-1), -1, int64(-1), 0.5, int64(-1), 1.0, -1, 5, int64(-1))
	f.Add(1, 0.0, 0.0, int64(0), 0, 0, int64(0), 0, int64(math.MaxInt64), math.MaxFloat64, int64(math.MaxInt64), 0.9, 1, 0, int64(0))
	f.Fuzz(func(t *testing.T, threshold int, rate, slowRate float64, slowDur int64, minCalls, size int,
		winDur int64, buckets int, open int64, mult float64, maxOpen int64, jitter float64,
		probes, toClose int, wait int64) {
		p := Policy{
			FailureThreshold: threshold, FailureRateThreshold: rate, SlowCallRateThreshold: slowRate,
			SlowCallDuration: time.Duration(slowDur), MinimumCalls: minCalls, WindowSize: size,
			WindowDuration: time.Duration(winDur), WindowBuckets: buckets, OpenTimeout: time.Duration(open),
			OpenTimeoutMultiplier: mult, MaxOpenTimeout: time.Duration(maxOpen), OpenTimeoutJitter: jitter,
			HalfOpenProbes: probes, SuccessesToClose: toClose, MaxHalfOpenWait: time.Duration(wait),
		}
		if probes > 1000 || size > 1<<16 || buckets > 1<<12 {
			t.Skip("too large to run quickly")
		}
		err := p.Validate()
		if err != nil {
			if !errors.Is(err, messages.ErrInvalidPolicy) || len(policyerr.Fields(err)) == 0 {
				t.Fatalf("error %v does not name a field", err)
			}
			return
		}
		m, err := NewMachine(p, 7)
		if err != nil {
			t.Fatal(err)
		}
		d := m.Policy()
		now := t0
		for i := range 200 {
			dec := m.Allow(now)
			if dec.Allowed {
				var e error
				if i%3 != 0 {
					e = errBoom
				}
				m.Report(now, dec.Permit, e, time.Duration(i)*time.Millisecond)
			}
			s := m.Snapshot(now)
			if s.ProbesInFlight > d.HalfOpenProbes {
				t.Fatalf("%d probes in flight, limit %d", s.ProbesInFlight, d.HalfOpenProbes)
			}
			if s.State == messages.Open && s.OpenUntil.Before(now) && dec.Allowed {
				t.Fatalf("open until %s but allowed at %s", s.OpenUntil, now)
			}
			if s.FailureRate < 0 || s.FailureRate > 1 || s.SlowRate < 0 || s.SlowRate > 1 {
				t.Fatalf("rates out of range: %+v", s.Counts)
			}
			now = now.Add(time.Duration(i%7) * 100 * time.Millisecond)
		}
	})
}
