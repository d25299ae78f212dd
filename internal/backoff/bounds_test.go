package backoff

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// checkBounds checks every result for one set of inputs against the
// documented bounds: Base in [0, Max] and near Initial x Multiplier^(n-1),
// each jitter within its interval, nothing negative or wrapped around.
func checkBounds(t interface {
	Helper()
	Fatalf(string, ...any)
}, e Exponential, n int, prev time.Duration, factor, rnd float64) {
	t.Helper()
	limit := max(e.Max, 0)
	within := func(what string, d time.Duration, lo, hi float64) {
		t.Helper()
		slack := 2 + 4e-15*math.Abs(hi) // float rounding and truncation to whole nanoseconds
		if d < 0 || float64(d) < lo-slack || float64(d) > hi+slack {
			t.Fatalf("%s = %d, outside [%g, %g] for %+v n=%d prev=%d factor=%g rnd=%g",
				what, int64(d), lo, hi, e, n, int64(prev), factor, rnd)
		}
	}

	b := e.Base(n)
	want := float64(e.Initial) * math.Pow(e.Multiplier, float64(max(n, 1)-1))
	switch {
	case e.Initial <= 0:
		want = 0
	case math.IsNaN(want) || want > float64(limit):
		want = float64(limit)
	}
	within("Base", b, math.Max(want, 0), math.Max(want, 0))
	if b > limit {
		t.Fatalf("Base = %d above Max %d", int64(b), int64(limit))
	}

	if d := Full(b, rnd); d > b {
		t.Fatalf("Full = %d above %d", int64(d), int64(b))
	} else {
		within("Full", d, 0, float64(b))
	}
	if d := Equal(b, rnd); d > b {
		t.Fatalf("Equal = %d above %d", int64(d), int64(b))
	} else {
		within("Equal", d, float64(b)/2, float64(b))
	}
	for _, lim := range []time.Duration{math.MaxInt64, e.Max} {
		d := Proportional(b, factor, rnd, lim)
		lim = max(lim, 0)
		if d > lim {
			t.Fatalf("Proportional = %d above limit %d", int64(d), int64(lim))
		}
		if factor >= 0 && factor <= 1 {
			within("Proportional", d, math.Min(float64(b)*(1-factor), float64(lim)), math.Min(float64(b)*(1+factor), float64(lim)))
		}
	}

	d := e.Decorrelated(prev, rnd)
	if d > limit {
		t.Fatalf("Decorrelated = %d above Max %d", int64(d), int64(limit))
	}
	lo := math.Max(float64(e.Initial), 0)
	hi := 3 * math.Max(float64(prev), float64(e.Initial))
	within("Decorrelated", d, math.Min(lo, float64(limit)), math.Max(math.Min(hi, float64(limit)), 0))
}

func anyDuration() *rapid.Generator[time.Duration] {
	return rapid.Map(rapid.OneOf(
		rapid.Int64(),
		rapid.Int64Range(0, int64(time.Hour)),
		rapid.SampledFrom([]int64{0, 1, -1, 1<<53 + 1, math.MaxInt64, math.MinInt64}),
	), func(v int64) time.Duration { return time.Duration(v) })
}

func anyFloat(usual *rapid.Generator[float64]) *rapid.Generator[float64] {
	return rapid.OneOf(usual, rapid.Float64(), rapid.SampledFrom([]float64{
		0, 1, 2, -1, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Nextafter(1, 0),
	}))
}

func TestDelaysStayWithinBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := Exponential{
			Initial:    anyDuration().Draw(t, "initial"),
			Multiplier: anyFloat(rapid.Float64Range(1, 10)).Draw(t, "multiplier"),
			Max:        anyDuration().Draw(t, "max"),
		}
		n := rapid.OneOf(rapid.IntRange(1, 100), rapid.Int()).Draw(t, "n")
		prev := anyDuration().Draw(t, "prev")
		factor := anyFloat(rapid.Float64Range(0, 1)).Draw(t, "factor")
		rnd := anyFloat(rapid.Float64Range(0, 1)).Draw(t, "rnd")
		checkBounds(t, e, n, prev, factor, rnd)
	})
}

// A valid schedule grows: with Initial in (0, Max] and Multiplier at least
// one, Base starts at Initial (to float64 precision) and never shrinks from
// one step to the next.
func TestBaseGrowsToMax(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxD := time.Duration(rapid.Int64Range(1, math.MaxInt64).Draw(t, "max"))
		e := Exponential{
			Initial:    time.Duration(rapid.Int64Range(1, int64(maxD)).Draw(t, "initial")),
			Multiplier: rapid.OneOf(rapid.Float64Range(1, 10), rapid.Float64Range(1, math.MaxFloat64)).Draw(t, "multiplier"),
			Max:        maxD,
		}
		if b := e.Base(1); float64(b) != float64(e.Initial) {
			t.Fatalf("Base(1) = %v, want Initial %v", b, e.Initial)
		}
		n := rapid.IntRange(1, 10_000).Draw(t, "n")
		if a, b := e.Base(n), e.Base(n+1); b < a {
			t.Fatalf("Base(%d) = %v > Base(%d) = %v", n, a, n+1, b)
		}
	})
}

func FuzzBounds(f *testing.F) {
	f.Add(int64(time.Second), 2.0, int64(time.Minute), 3, int64(0), 0.2, 0.5)
	f.Add(int64(1), 1e300, int64(math.MaxInt64), math.MaxInt, int64(math.MaxInt64), 1.0, 0.999)
	f.Add(int64(math.MaxInt64/3), math.MaxFloat64, int64(math.MaxInt64), 64, int64(5), 1.0, 1.0)
	f.Add(int64(-1), math.NaN(), int64(-1), math.MinInt, int64(math.MinInt64), math.NaN(), math.NaN())
	f.Add(int64(math.MaxInt64), math.Inf(1), int64(1<<53+1), 2, int64(-7), 5.0, -3.0)
	f.Fuzz(func(t *testing.T, initial int64, mult float64, maxD int64, n int, prev int64, factor, rnd float64) {
		e := Exponential{Initial: time.Duration(initial), Multiplier: mult, Max: time.Duration(maxD)}
		checkBounds(t, e, n, time.Duration(prev), factor, rnd)
	})
}
