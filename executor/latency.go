package executor

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// The latency histogram's buckets: one for durations under a microsecond
// (1024 ns), then four per power of two up to 2^40 ns (about 18
// minutes), and one above.
const (
	latencyMinExp  = 10
	latencyMaxExp  = 40
	latencySub     = 4
	latencyBuckets = 1 + (latencyMaxExp-latencyMinExp)*latencySub + 1
)

// Latency is a histogram of job durations, from submission to the end,
// of the jobs a dependency admitted. Its buckets are a quarter of a power
// of two wide, so a quantile, given as its bucket's upper bound,
// overstates the true value by at most a quarter. The zero value is
// empty.
type Latency struct {
	counts [latencyBuckets]uint64
}

// latencyBucket is the bucket of a duration of ns nanoseconds.
func latencyBucket(ns int64) int {
	if ns < 1<<latencyMinExp {
		return 0
	}
	e := bits.Len64(uint64(ns)) - 1
	if e >= latencyMaxExp {
		return latencyBuckets - 1
	}
	sub := int(uint64(ns)>>(e-2)) & (latencySub - 1)
	return 1 + (e-latencyMinExp)*latencySub + sub
}

// latencyUpper is the upper bound of bucket i (the last one has none:
// its lower bound is returned).
func latencyUpper(i int) time.Duration {
	if i == 0 {
		return 1 << latencyMinExp
	}
	if i >= latencyBuckets-1 {
		return 1 << latencyMaxExp
	}
	e := latencyMinExp + (i-1)/latencySub
	sub := (i - 1) % latencySub
	return time.Duration(int64(latencySub+sub+1) << (e - 2))
}

// Count returns the number of durations in l.
func (l Latency) Count() uint64 {
	var n uint64
	for _, c := range l.counts {
		n += c
	}
	return n
}

// Quantile returns the duration below which a share q (in [0, 1]) of
// l's durations lie, as the upper bound of the bucket that holds it; 0
// when l is empty.
func (l Latency) Quantile(q float64) time.Duration {
	n := l.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i, c := range l.counts {
		if seen += c; seen >= rank {
			return latencyUpper(i)
		}
	}
	return latencyUpper(latencyBuckets - 1)
}

// Sub returns the durations in l and not in earlier, a reading of the
// same histogram taken before: those of the jobs that ended in between.
func (l Latency) Sub(earlier Latency) Latency {
	for i := range l.counts {
		l.counts[i] -= min(earlier.counts[i], l.counts[i])
	}
	return l
}

// latencies is a dependency's live histogram.
type latencies [latencyBuckets]atomic.Uint64

func (h *latencies) add(d time.Duration) { h[latencyBucket(int64(d))].Add(1) }

func (h *latencies) read() Latency {
	var l Latency
	if h != nil {
		for i := range h {
			l.counts[i] = h[i].Load()
		}
	}
	return l
}
