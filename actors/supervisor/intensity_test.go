package supervisor

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func newIntensity(t *testing.T, p Policy) *Intensity {
	t.Helper()
	in, err := NewIntensity(p)
	require.NoError(t, err)
	return in
}

func TestRestartsWithinLimitThenEscalates(t *testing.T) {
	in := newIntensity(t, Policy{MaxRestarts: 3, Window: 5 * time.Second, InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second})
	want := []Decision{
		{Action: Restart, Delay: 10 * time.Millisecond, Crashes: 1},
		{Action: Restart, Delay: 20 * time.Millisecond, Crashes: 2},
		{Action: Restart, Delay: 40 * time.Millisecond, Crashes: 3},
		{Action: Escalate, Crashes: 4},
	}
	for i, w := range want {
		assert.Equal(t, w, in.Crash(t0.Add(time.Duration(i)*time.Second), 0.5), "crash %d", i+1)
	}
}

func TestCrashesOutsideTheWindowAreForgotten(t *testing.T) {
	in := newIntensity(t, Policy{MaxRestarts: 2, Window: 10 * time.Second})
	assert.Equal(t, Restart, in.Crash(t0, 0).Action)
	assert.Equal(t, Restart, in.Crash(t0.Add(5*time.Second), 0).Action)
	// The first crash is exactly Window old: outside.
	d := in.Crash(t0.Add(10*time.Second), 0)
	assert.Equal(t, Restart, d.Action)
	assert.Equal(t, 2, d.Crashes)
	assert.Equal(t, Escalate, in.Crash(t0.Add(14*time.Second), 0).Action)
	assert.Equal(t, 0, in.Crashes(t0.Add(time.Hour)))

	in.Crash(t0.Add(time.Hour), 0)
	in.Reset()
	assert.Equal(t, 0, in.Crashes(t0.Add(time.Hour)))
}

func TestBackoffIsExponentialAndCapped(t *testing.T) {
	in := newIntensity(t, Policy{MaxRestarts: 100, Window: time.Hour, InitialBackoff: 100 * time.Millisecond, Multiplier: 3, MaxBackoff: 2 * time.Second})
	var got []time.Duration
	for i := range 5 {
		got = append(got, in.Crash(t0.Add(time.Duration(i)), 0.5).Delay)
	}
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 900 * time.Millisecond, 2 * time.Second, 2 * time.Second}, got)
}

func TestJitterBounds(t *testing.T) {
	p := Policy{MaxRestarts: 1000, Window: time.Hour, InitialBackoff: time.Second, MaxBackoff: time.Minute, Jitter: 0.5}
	in := newIntensity(t, p)
	assert.Equal(t, 500*time.Millisecond, in.Crash(t0, 0).Delay)
	in.Reset()
	assert.Equal(t, 1500*time.Millisecond, in.Crash(t0, 1-1e-12).Delay.Round(time.Millisecond))
	in.Reset()
	assert.Equal(t, time.Second, in.Crash(t0, math.NaN()).Delay, "a bad random number means no spread")
	in.Reset()
	for range 40 {
		in.Crash(t0, 0.99)
	}
	assert.Equal(t, time.Minute, in.Crash(t0, 0.99).Delay, "the jittered delay stays under the cap")
}

func TestHugeValuesDoNotOverflow(t *testing.T) {
	in := newIntensity(t, Policy{MaxRestarts: 1 << 20, Window: math.MaxInt64, InitialBackoff: math.MaxInt64 / 2, Multiplier: math.MaxFloat64, MaxBackoff: math.MaxInt64})
	for i := range 100 {
		d := in.Crash(t0.Add(time.Duration(i)), 0.7)
		assert.Equal(t, Restart, d.Action)
		assert.GreaterOrEqual(t, d.Delay, time.Duration(0))
	}
}

func TestDefaults(t *testing.T) {
	in := newIntensity(t, Policy{})
	assert.Equal(t, Policy{MaxRestarts: 10, Window: 10 * time.Second, InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2}, in.Policy())
	for i := range 10 {
		assert.Equal(t, Restart, in.Crash(t0.Add(time.Duration(i)*time.Millisecond), 0.5).Action)
	}
	assert.Equal(t, Escalate, in.Crash(t0.Add(time.Second), 0.5).Action)
	assert.Equal(t, 5*time.Second, Policy{InitialBackoff: 5 * time.Second}.WithDefaults().MaxBackoff)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		p      Policy
		fields []string
	}{
		{"negative restarts", Policy{MaxRestarts: -1}, []string{"MaxRestarts"}},
		{"negative window", Policy{Window: -1}, []string{"Window"}},
		{"negative backoff", Policy{InitialBackoff: -1}, []string{"InitialBackoff"}},
		{"negative cap", Policy{MaxBackoff: -1}, []string{"MaxBackoff"}},
		{"cap below initial", Policy{InitialBackoff: time.Second, MaxBackoff: time.Millisecond}, []string{"MaxBackoff"}},
		{"multiplier below one", Policy{Multiplier: 0.9}, []string{"Multiplier"}},
		{"NaN multiplier", Policy{Multiplier: math.NaN()}, []string{"Multiplier"}},
		{"infinite multiplier", Policy{Multiplier: math.Inf(1)}, []string{"Multiplier"}},
		{"jitter of one", Policy{Jitter: 1}, []string{"Jitter"}},
		{"NaN jitter", Policy{Jitter: math.NaN()}, []string{"Jitter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			assert.ErrorIs(t, err, messages.ErrInvalidPolicy)
			assert.Equal(t, tt.fields, policyerr.Fields(err))
			_, err = NewIntensity(tt.p)
			assert.ErrorIs(t, err, messages.ErrInvalidPolicy)
		})
	}
}

func TestActionString(t *testing.T) {
	assert.Equal(t, "restart", Restart.String())
	assert.Equal(t, "escalate", Escalate.String())
	assert.Equal(t, "action(3)", Action(3).String())
}
