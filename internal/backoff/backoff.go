package backoff

import (
	"math"
	"time"
)

// Exponential is a delay that starts at Initial and grows by Multiplier with
// each step, never past Max. Multiplier is meant to be at least 1; any value
// still gives delays in [0, Max].
type Exponential struct {
	Initial    time.Duration
	Multiplier float64
	Max        time.Duration
}

// Base returns the n-th delay, Initial x Multiplier^(n-1), in [0, Max]. An n
// below 1 means the first; a negative Initial or Max counts as zero.
func (e Exponential) Base(n int) time.Duration {
	if e.Initial <= 0 {
		return 0
	}
	n = max(n, 1)
	return capped(float64(e.Initial)*math.Pow(e.Multiplier, float64(n-1)), e.Max)
}

// Decorrelated returns the delay that follows prev: a uniform random delay
// in [Initial, 3 x max(prev, Initial)], drawn with rnd and capped at Max.
// It grows from the previous delay rather than with a step count, so it
// ignores Multiplier.
func (e Exponential) Decorrelated(prev time.Duration, rnd float64) time.Duration {
	lo := float64(e.Initial)
	hi := 3 * float64(max(prev, e.Initial))
	return capped(lo+unit(rnd)*(hi-lo), e.Max)
}

// Full returns a uniform random delay in [0, d], drawn with rnd.
func Full(d time.Duration, rnd float64) time.Duration {
	return capped(unit(rnd)*float64(d), d)
}

// Equal returns half of d plus a uniform random share of the other half:
// a delay in [d/2, d], drawn with rnd.
func Equal(d time.Duration, rnd float64) time.Duration {
	return capped(float64(d)/2+unit(rnd)*float64(d)/2, d)
}

// Proportional returns d spread by up to factor of it either way,
// d x (1 + factor x (2rnd - 1)), drawn with rnd and capped at limit: a
// factor in [0, 1] gives a delay in [d x (1-factor), d x (1+factor)]. The
// spread may exceed d, so the cap is an argument; math.MaxInt64 means none.
func Proportional(d time.Duration, factor, rnd float64, limit time.Duration) time.Duration {
	return capped(float64(d)*(1+factor*(2*unit(rnd)-1)), limit)
}

// unit clamps a random number into [0, 1); NaN gives 0.
func unit(rnd float64) float64 {
	if !(rnd >= 0) {
		return 0
	}
	if rnd >= 1 {
		return math.Nextafter(1, 0)
	}
	return rnd
}

// capped converts d to a duration in [0, hi], a negative hi counting as
// zero. NaN gives hi. The comparison is made before the conversion, so a d
// too large for a time.Duration never overflows.
func capped(d float64, hi time.Duration) time.Duration {
	hi = max(hi, 0)
	if !(d < float64(hi)) {
		return hi
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(d)
}
