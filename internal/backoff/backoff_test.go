package backoff

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const maxDuration = time.Duration(math.MaxInt64)

func TestBase(t *testing.T) {
	doubling := Exponential{Initial: time.Second, Multiplier: 2, Max: time.Minute}
	tests := []struct {
		name string
		e    Exponential
		n    int
		want time.Duration
	}{
		{"first is Initial", doubling, 1, time.Second},
		{"grows by Multiplier", doubling, 4, 8 * time.Second},
		{"capped at Max", doubling, 7, time.Minute},
		{"n below one means the first", doubling, 0, time.Second},
		{"negative n means the first", doubling, math.MinInt, time.Second},
		{"huge n stays at Max", doubling, math.MaxInt, time.Minute},
		{"Multiplier one stays flat", Exponential{Initial: time.Second, Multiplier: 1, Max: time.Minute}, 1000, time.Second},
		{"fractional Multiplier", Exponential{Initial: time.Second, Multiplier: 1.5, Max: time.Minute}, 3, 2250 * time.Millisecond},
		{"Initial above Max gives Max", Exponential{Initial: time.Hour, Multiplier: 2, Max: time.Minute}, 1, time.Minute},
		{"zero Initial", Exponential{Multiplier: math.Inf(1), Max: time.Minute}, 5, 0},
		{"negative Initial", Exponential{Initial: -time.Second, Multiplier: 2, Max: time.Minute}, 2, 0},
		{"negative Max", Exponential{Initial: time.Second, Multiplier: 2, Max: -time.Minute}, 2, 0},
		{"negative Multiplier", Exponential{Initial: time.Second, Multiplier: -2, Max: time.Minute}, 2, 0},
		{"NaN Multiplier is too large", Exponential{Initial: time.Second, Multiplier: math.NaN(), Max: time.Minute}, 2, time.Minute},
		{"infinite Multiplier", Exponential{Initial: time.Second, Multiplier: math.Inf(1), Max: time.Minute}, 2, time.Minute},
		{"no overflow at the largest durations", Exponential{Initial: maxDuration / 2, Multiplier: math.MaxFloat64, Max: maxDuration}, 3, maxDuration},
		{"largest Initial and Max", Exponential{Initial: maxDuration, Multiplier: 1, Max: maxDuration}, 1, maxDuration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.e.Base(tt.n))
		})
	}
}

func TestJitter(t *testing.T) {
	s := time.Second
	e := Exponential{Initial: 100 * time.Millisecond, Multiplier: 2, Max: time.Second}
	tests := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"full: low end is zero", Full(s, 0), 0},
		{"full: half", Full(s, 0.5), s / 2},
		{"full: NaN counts as zero", Full(s, math.NaN()), 0},
		{"full: below zero counts as zero", Full(s, -3), 0},
		{"full: one and above stay under d", Full(s, 7), s - 1},
		{"full: negative d", Full(-s, 0.5), 0},
		{"full: largest d", Full(maxDuration, 1), maxDuration - 1023},
		{"equal: low end is half", Equal(s, 0), s / 2},
		{"equal: three quarters", Equal(s, 0.5), 3 * s / 4},
		{"equal: NaN counts as zero", Equal(s, math.NaN()), s / 2},
		{"equal: largest d", Equal(maxDuration, 1), maxDuration},
		{"proportional: low end", Proportional(s, 0.2, 0, maxDuration), 800 * time.Millisecond},
		{"proportional: centre", Proportional(s, 0.2, 0.5, maxDuration), s},
		{"proportional: may exceed d", Proportional(s, 0.5, 0.75, maxDuration), 1250 * time.Millisecond},
		{"proportional: zero factor", Proportional(s, 0, 0.9, maxDuration), s},
		{"proportional: factor above one stops at zero", Proportional(s, 3, 0, maxDuration), 0},
		{"proportional: NaN factor is too large", Proportional(s, math.NaN(), 0.5, maxDuration), maxDuration},
		{"proportional: saturates", Proportional(maxDuration, 1, 0.99, maxDuration), maxDuration},
		{"proportional: capped at limit", Proportional(s, 0.5, 0.99, 1200*time.Millisecond), 1200 * time.Millisecond},
		{"proportional: negative limit counts as zero", Proportional(s, 0.5, 0.5, -s), 0},
		{"decorrelated: low end is Initial", e.Decorrelated(0, 0), 100 * time.Millisecond},
		{"decorrelated: halfway to three times prev", e.Decorrelated(200*time.Millisecond, 0.5), 350 * time.Millisecond},
		{"decorrelated: capped at Max", e.Decorrelated(s, 0.9), s},
		{"decorrelated: negative prev counts as Initial", e.Decorrelated(-s, 0.5), 200 * time.Millisecond},
		{"decorrelated: no overflow", e.Decorrelated(maxDuration, 0.999), s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

func ExampleExponential_Base() {
	e := Exponential{Initial: time.Second, Multiplier: 2, Max: 10 * time.Second}
	for n := 1; n <= 5; n++ {
		fmt.Print(e.Base(n), " ")
	}
	// Output: 1s 2s 4s 8s 10s
}

func ExampleProportional() {
	d := Exponential{Initial: time.Second, Multiplier: 2, Max: time.Minute}.Base(3)
	for _, rnd := range []float64{0, 0.5, 0.75} {
		fmt.Print(Proportional(d, 0.2, rnd, 4200*time.Millisecond), " ")
	}
	// Output: 3.2s 4s 4.2s
}
