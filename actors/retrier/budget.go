package retrier

import (
	"math"
	"time"

	"github.com/warden-go/warden/internal/policyerr"
)

// Defaults of a Budget's zero fields.
const (
	DefaultBudgetRatio     = 0.2
	DefaultBudgetPerSecond = 10.0
	DefaultBudgetWindow    = 10 * time.Second
)

// budgetBuckets is the number of buckets a Ledger's window is cut in.
const budgetBuckets = 10

// Budget caps the retries of one dependency, as Finagle's RetryBudget
// does: over any Window, retries may add at most Ratio of the calls
// made, plus PerSecond retries per second of the window, so a dependency
// that fails every call gets at most (1 + Ratio) times its callers' load
// plus PerSecond. A retry over budget is not made. The zero value of a
// field means its default; use a Ledger to apply a Budget.
type Budget struct {
	// Ratio is the share of the calls that retries may add; default 0.2.
	Ratio float64
	// PerSecond is the retries per second allowed whatever the calls, so
	// that a dependency with few calls may still retry; default 10.
	PerSecond float64
	// Window is the span of time over which calls and retries are
	// counted; default 10 s.
	Window time.Duration
}

// WithDefaults returns b with its zero fields set to their defaults.
func (b Budget) WithDefaults() Budget {
	if b.Ratio == 0 {
		b.Ratio = DefaultBudgetRatio
	}
	if b.PerSecond == 0 {
		b.PerSecond = DefaultBudgetPerSecond
	}
	if b.Window == 0 {
		b.Window = DefaultBudgetWindow
	}
	return b
}

// Validate reports every invalid field, joined; each error matches
// messages.ErrInvalidPolicy and names its field.
func (b Budget) Validate() error {
	e := policyerr.New("retrier.Budget")
	e.Check(b.Ratio >= 0 && b.Ratio <= 100 && !math.IsNaN(b.Ratio), "Ratio", b.Ratio, "must be in [0, 100]")
	e.Check(b.PerSecond >= 0 && b.PerSecond <= 1e9 && !math.IsNaN(b.PerSecond), "PerSecond", b.PerSecond, "must be in [0, 1e9]")
	e.Check(b.Window >= 0 && (b.Window == 0 || b.Window >= budgetBuckets*time.Millisecond), "Window", b.Window,
		"must be zero (the default) or at least 10ms")
	return e.Err()
}

// A Ledger applies a Budget: it counts the retries it allows in buckets
// of a tenth of the window, and reads the calls from a counter of all the
// calls ever made, which the caller passes in. It is pure (the time comes
// in) and not safe for concurrent use.
type Ledger struct {
	b       Budget
	width   time.Duration
	buckets [budgetBuckets]bucket
	n       int // buckets in use, the newest at index n-1
}

// bucket holds, for a tenth of the window, the call counter at its start
// and the retries allowed in it.
type bucket struct {
	start   time.Time
	calls   uint64 // the calls counter when the bucket began
	retries float64
}

// NewLedger returns a ledger for b (its defaults applied).
func NewLedger(b Budget) *Ledger {
	b = b.WithDefaults()
	return &Ledger{b: b, width: b.Window / budgetBuckets}
}

// Allow reports whether a retry may be made at now, when calls calls
// have been made in all; if so it counts the retry. The window covers
// the buckets of the last Window: calls made before the first retry of a
// quiet spell are not seen, so the ledger errs towards fewer retries, and
// the PerSecond floor covers them.
func (l *Ledger) Allow(now time.Time, calls uint64) bool {
	l.advance(now, calls)
	oldest := l.buckets[0]
	var retries float64
	for _, bk := range l.buckets[:l.n] {
		retries += bk.retries
	}
	made := float64(calls - min(oldest.calls, calls))
	span := min(max(now.Sub(oldest.start), l.width), l.b.Window).Seconds()
	if retries+1 > l.b.Ratio*made+l.b.PerSecond*span {
		return false
	}
	l.buckets[l.n-1].retries++
	return true
}

// advance drops the buckets older than the window and starts the one now
// falls in.
func (l *Ledger) advance(now time.Time, calls uint64) {
	drop := 0
	for drop < l.n && now.Sub(l.buckets[drop].start) >= l.b.Window {
		drop++
	}
	if drop > 0 {
		copy(l.buckets[:], l.buckets[drop:l.n])
		l.n -= drop
	}
	if l.n > 0 && now.Sub(l.buckets[l.n-1].start) < l.width {
		return
	}
	if l.n == budgetBuckets { // cannot happen: every bucket is a width apart
		copy(l.buckets[:], l.buckets[1:])
		l.n--
	}
	start := now
	if l.n > 0 {
		// Keep the buckets aligned on the width, from the first.
		prev := l.buckets[l.n-1].start
		start = prev.Add(now.Sub(prev) / l.width * l.width)
	}
	l.buckets[l.n] = bucket{start: start, calls: calls}
	l.n++
}
