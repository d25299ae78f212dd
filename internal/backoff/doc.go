// Package backoff computes exponential backoff delays and their jitter.
//
// Exponential.Base gives the n-th delay, Initial x Multiplier^(n-1), capped
// at Max. Full, Equal and Proportional spread a delay with a random number
// the caller draws; Exponential.Decorrelated draws the next delay from the
// previous one instead of from n. A random number rnd is meant to be
// uniform in [0, 1); one outside is clamped into it, and NaN counts as 0.
//
// Everything here is a pure function of its arguments: nothing reads the
// clock, draws its own random numbers or starts a goroutine, so it is safe
// for concurrent use. Every result is a non-negative time.Duration, for any
// n, multiplier or durations, with no overflow; a value that is not a
// number counts as too large and gives the cap. Delays are computed in
// float64, so above 2^53 ns (104 days) they are exact to its precision.
package backoff
