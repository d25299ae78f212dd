package breaker

import "time"

// window counts recent calls, failures and slow calls for the rate rules.
// It is either count-based (a ring of the last N calls) or time-based (a
// ring of buckets, each covering WindowDuration/WindowBuckets).
type window struct {
	// count-based
	ring []uint8 // bit 0: failure, bit 1: slow, bit 2: occupied
	next int

	// time-based
	buckets []bucket
	span    time.Duration // one bucket

	calls, failures, slow int
}

type bucket struct {
	epoch                 int64 // index of the span this bucket holds, since the Unix epoch
	calls, failures, slow int
}

const (
	markFailure = 1 << iota
	markSlow
	markUsed
)

func newWindow(p Policy) *window {
	if p.WindowDuration > 0 {
		return &window{
			buckets: make([]bucket, p.WindowBuckets),
			span:    p.WindowDuration / time.Duration(p.WindowBuckets),
		}
	}
	return &window{ring: make([]uint8, p.WindowSize)}
}

// record adds one call at now.
func (w *window) record(now time.Time, failure, slow bool) {
	if w.buckets != nil {
		w.advance(now)
		b := &w.buckets[w.slot(now)]
		b.calls++
		w.calls++
		if failure {
			b.failures++
			w.failures++
		}
		if slow {
			b.slow++
			w.slow++
		}
		return
	}
	old := w.ring[w.next]
	if old&markUsed != 0 {
		w.calls--
		if old&markFailure != 0 {
			w.failures--
		}
		if old&markSlow != 0 {
			w.slow--
		}
	}
	m := uint8(markUsed)
	if failure {
		m |= markFailure
	}
	if slow {
		m |= markSlow
	}
	w.ring[w.next] = m
	w.next = (w.next + 1) % len(w.ring)
	w.calls++
	if failure {
		w.failures++
	}
	if slow {
		w.slow++
	}
}

// recordN adds n calls at now, all failures or all successes, none slow.
// A count-based window keeps the last of them only, so it takes at most
// its length.
func (w *window) recordN(now time.Time, n int, failure bool) {
	if w.buckets == nil {
		for range min(n, len(w.ring)) {
			w.record(now, failure, false)
		}
		return
	}
	w.advance(now)
	b := &w.buckets[w.slot(now)]
	b.calls += n
	w.calls += n
	if failure {
		b.failures += n
		w.failures += n
	}
}

// totals returns the window's counts as of now.
func (w *window) totals(now time.Time) (calls, failures, slow int) {
	if w.buckets != nil {
		w.advance(now)
	}
	return w.calls, w.failures, w.slow
}

func (w *window) epoch(now time.Time) int64 { return now.UnixNano() / int64(w.span) }

func (w *window) slot(now time.Time) int {
	e := w.epoch(now) % int64(len(w.buckets))
	if e < 0 {
		e += int64(len(w.buckets))
	}
	return int(e)
}

// advance drops buckets that fell out of the window at now, and claims the
// current bucket for now's span.
func (w *window) advance(now time.Time) {
	cur := w.epoch(now)
	oldest := cur - int64(len(w.buckets)) + 1
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.calls > 0 && b.epoch < oldest {
			w.calls -= b.calls
			w.failures -= b.failures
			w.slow -= b.slow
			*b = bucket{}
		}
	}
	b := &w.buckets[w.slot(now)]
	if b.epoch != cur {
		if b.calls > 0 { // a bucket from a later span: the clock went back
			w.calls -= b.calls
			w.failures -= b.failures
			w.slow -= b.slow
		}
		*b = bucket{epoch: cur}
	}
}

// reset empties the window.
func (w *window) reset() {
	clear(w.ring)
	clear(w.buckets)
	w.next, w.calls, w.failures, w.slow = 0, 0, 0, 0
}
