package breaker

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
)

// fakeClock is a clock tests set by hand; safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newBreaker(t *testing.T, p Policy, opts ...Option) (*Breaker, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: t0}
	b, err := New("postgres", p, append([]Option{WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	return b, clk
}

func fail(context.Context) error    { return errBoom }
func succeed(context.Context) error { return nil }

// trip fails n calls, which trips a breaker of threshold n.
func trip(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		require.ErrorIs(t, b.Execute(t.Context(), fail), errBoom)
	}
}

func requireOpen(t *testing.T, err error) *messages.CircuitOpenError {
	t.Helper()
	var open *messages.CircuitOpenError
	require.ErrorAs(t, err, &open)
	require.ErrorIs(t, err, messages.ErrCircuitOpen)
	return open
}

func TestBreakerTripsAfterFailureThreshold(t *testing.T) {
	for _, tc := range []struct {
		name      string
		p         Policy
		threshold int
	}{
		{"database", Database(), 3},
		{"external API", ExternalAPI(), 5},
		{"one failure", Policy{FailureThreshold: 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, clk := newBreaker(t, tc.p)
			for i := range tc.threshold {
				assert.Equal(t, messages.Closed, b.State(), "before failure %d", i+1)
				clk.Set(t0.Add(time.Duration(i) * time.Second))
				assert.ErrorIs(t, b.Execute(t.Context(), fail), errBoom)
			}
			assert.Equal(t, messages.Open, b.State())
			open := requireOpen(t, b.Execute(t.Context(), func(context.Context) error { t.Error("rejected call ran"); return nil }))
			assert.Equal(t, "postgres", open.Name)
			assert.Equal(t, tc.threshold, open.FailureCount)
			assert.Equal(t, t0.Add(time.Duration(tc.threshold-1)*time.Second), open.LastFailure)
		})
	}
}

// The breaker's clock moves by hand; the bubble's real clock stands still,
// so the error's RetryAfter is the open period left on the breaker's clock.
func TestBreakerRetryAfterCountsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, clk := newBreaker(t, Database())
		trip(t, b, 3) // at t0, open until t0+30s
		for _, tc := range []struct {
			at    time.Time
			after time.Duration
		}{
			{t0, 30 * time.Second},
			{t0.Add(10 * time.Second), 20 * time.Second},
			{t0.Add(29*time.Second + 500*time.Millisecond), 500 * time.Millisecond},
		} {
			clk.Set(tc.at)
			_, err := b.Allow()
			assert.Equal(t, tc.after, requireOpen(t, err).RetryAfter(), "at %s", tc.at)
		}
		clk.Set(t0.Add(30 * time.Second))
		assert.Equal(t, messages.HalfOpen, b.State(), "State applies the end of the open period")
		p, err := b.Allow()
		require.NoError(t, err)
		assert.True(t, p.Probe)
	})
}

// TestBreakerHalfOpenProbeLimit sends more callers than probes at once:
// HalfOpenProbes of them run, the rest are rejected without waiting.
func TestBreakerHalfOpenProbeLimit(t *testing.T) {
	const callers = 8
	for _, probes := range []int{1, 3} {
		b, clk := newBreaker(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenProbes: probes})
		trip(t, b, 1)
		clk.Set(t0.Add(time.Second))

		entered, release := make(chan struct{}), make(chan struct{})
		errs := make(chan error, callers) // one per caller, so none blocks
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				errs <- b.Execute(t.Context(), func(context.Context) error { entered <- struct{}{}; <-release; return nil })
			})
		}
		admitted, rejected := 0, 0
		for admitted+rejected < callers {
			select {
			case <-entered:
				admitted++
			case err := <-errs:
				assert.Zero(t, requireOpen(t, err).Until, "a probe may be tried as soon as one reports")
				rejected++
			}
		}
		assert.Equal(t, probes, admitted)
		assert.Equal(t, probes, b.Snapshot().ProbesInFlight)
		close(release)
		wg.Wait()
		assert.Equal(t, messages.Closed, b.State(), "probes=%d", probes)
	}
}

func TestBreakerClosesAfterProbeSuccesses(t *testing.T) {
	for _, need := range []int{1, 2, 3} {
		b, clk := newBreaker(t, Policy{FailureThreshold: 1, OpenTimeout: time.Minute, HalfOpenProbes: 3, SuccessesToClose: need})
		trip(t, b, 1)
		clk.Set(t0.Add(time.Minute))
		for i := range need {
			assert.Equal(t, messages.HalfOpen, b.State(), "need=%d after %d successes", need, i)
			require.NoError(t, b.Execute(t.Context(), succeed))
		}
		assert.Equal(t, messages.Closed, b.State(), "need=%d", need)
	}
}

func TestBreakerIgnoresStalePermits(t *testing.T) {
	b, clk := newBreaker(t, Database())
	late, err := b.Allow()
	require.NoError(t, err)
	trip(t, b, 3)
	b.Done(late, nil, 0) // granted while CLOSED, reported while OPEN
	assert.Equal(t, messages.Open, b.State())

	clk.Set(t0.Add(30 * time.Second))
	probe, err := b.Allow()
	require.NoError(t, err)
	b.Reset()
	b.Done(probe, errBoom, 0) // a probe of the generation before the reset
	s := b.Snapshot()
	assert.Equal(t, messages.Closed, s.State)
	assert.Zero(t, s.ConsecutiveFailures)
	assert.Equal(t, uint64(2), s.Stale)
}

func TestBreakerReportsElapsedTime(t *testing.T) {
	b, clk := newBreaker(t, Policy{SlowCallDuration: time.Second, SlowCallRateThreshold: 1, MinimumCalls: 2})
	slow := func(context.Context) error { clk.Add(2 * time.Second); return nil }
	require.NoError(t, b.Execute(t.Context(), slow))
	require.NoError(t, b.Execute(t.Context(), slow))
	assert.Equal(t, messages.Open, b.State(), "two slow calls of two trip the slow-call rule")
}

func TestBreakerExecutePanicIsAFailure(t *testing.T) {
	never := func(error) bool { return false } // no error is a failure, but a panic is
	b, _ := newBreaker(t, Policy{FailureThreshold: 1, IsFailure: never})
	assert.PanicsWithValue(t, "boom", func() {
		_ = b.Execute(t.Context(), func(context.Context) error { panic("boom") })
	})
	s := b.Snapshot()
	assert.Equal(t, messages.Open, s.State)
	assert.Equal(t, uint64(1), s.Failures)
}

func TestBreakerExecuteWithDoneContext(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithTimeout(t.Context(), 0)
	defer cancel()
	for name, ctx := range map[string]context.Context{"canceled": canceled, "deadline exceeded": expired} {
		b, _ := newBreaker(t, Database())
		err := b.Execute(ctx, func(context.Context) error { t.Error(name, ": call ran"); return nil })
		assert.ErrorIs(t, err, ctx.Err(), name)
		assert.Equal(t, Counts{}, b.Snapshot().Counts, "%s: no permit taken", name)
	}
}

func TestBreakerNilInputs(t *testing.T) {
	b, _ := newBreaker(t, Database())
	var nilCtx context.Context
	_, runNilCtx := Run(nilCtx, b, func(context.Context) (int, error) { return 1, nil })
	_, runNilFn := Run[int](t.Context(), b, nil)
	for name, err := range map[string]error{
		"Execute nil context":  b.Execute(nilCtx, succeed),
		"Execute nil function": b.Execute(t.Context(), nil),
		"Run nil context":      runNilCtx,
		"Run nil function":     runNilFn,
	} {
		assert.ErrorIs(t, err, messages.ErrInvalidJob, name)
	}
	assert.Equal(t, Counts{}, b.Snapshot().Counts)
}

func TestBreakerRun(t *testing.T) {
	b, _ := newBreaker(t, Policy{FailureThreshold: 1})
	v, err := Run(t.Context(), b, func(context.Context) (string, error) { return "row", nil })
	assert.Equal(t, "row", v)
	assert.NoError(t, err)
	v, err = Run(t.Context(), b, func(context.Context) (string, error) { return "partial", errBoom })
	assert.Equal(t, "partial", v)
	assert.ErrorIs(t, err, errBoom)
	v, err = Run(t.Context(), b, func(context.Context) (string, error) { return "row", nil })
	assert.Empty(t, v)
	assert.ErrorIs(t, err, messages.ErrCircuitOpen)
}

func TestNewRejectsInvalidPolicy(t *testing.T) {
	b, err := New("postgres", Policy{FailureThreshold: -1, HalfOpenProbes: -1, OpenTimeoutJitter: 1})
	assert.Nil(t, b)
	require.ErrorIs(t, err, messages.ErrInvalidPolicy)
	assert.ElementsMatch(t, []string{"FailureThreshold", "HalfOpenProbes", "OpenTimeoutJitter"}, policyerr.Fields(err))
}

func TestBreakerSeedComesFromTheName(t *testing.T) {
	p := Policy{FailureThreshold: 1, OpenTimeoutJitter: 0.5}
	openUntil := func(name string, opts ...Option) time.Time {
		b, err := New(name, p, append(opts, WithClock(func() time.Time { return t0 }))...)
		require.NoError(t, err)
		_ = b.Execute(t.Context(), fail)
		return b.Snapshot().OpenUntil
	}
	assert.Equal(t, openUntil("a"), openUntil("a"))
	assert.NotEqual(t, openUntil("a"), openUntil("b"))
	assert.Equal(t, openUntil("a", WithSeed(7)), openUntil("b", WithSeed(7)))
}

func TestBreakerTransitionsInOrder(t *testing.T) {
	var b *Breaker
	var seen []string
	record := func(tr Transition) {
		if tr.To == messages.ForcedOpen {
			b.Reset() // delivered after this transition, not inside it
		}
		// b.State() here would deadlock if the lock were held.
		seen = append(seen, tr.From.String()+" -> "+tr.To.String()+" ("+tr.Reason+"), now "+b.State().String())
	}
	b, clk := newBreaker(t, Database(), WithOnTransition(record))
	trip(t, b, 3)
	clk.Set(t0.Add(30 * time.Second))
	require.NoError(t, b.Execute(t.Context(), succeed))
	b.Disable()
	b.ForceOpen()
	b.Reset() // CLOSED already: no change, no call
	assert.Equal(t, []string{
		"closed -> open (consecutive failures), now open",
		"open -> half-open (open period over), now half-open",
		"half-open -> closed (probes succeeded), now closed",
		"closed -> disabled (disabled), now disabled",
		"disabled -> forced-open (forced open), now closed",
		"forced-open -> closed (reset), now closed",
	}, seen)
}

func TestBreakerCallbackPanicLeavesItUsable(t *testing.T) {
	var seen []messages.State
	panicked := false
	b, clk := newBreaker(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second}, WithOnTransition(func(tr Transition) {
		if tr.To == messages.HalfOpen && !panicked {
			panicked = true
			panic("callback")
		}
		seen = append(seen, tr.To)
	}))
	trip(t, b, 1)
	clk.Set(t0.Add(time.Second))
	assert.PanicsWithValue(t, "callback", func() {
		_ = b.Execute(t.Context(), func(context.Context) error { t.Error("call ran"); return nil })
	})
	assert.Equal(t, messages.HalfOpen, b.State())
	assert.Zero(t, b.Snapshot().ProbesInFlight, "the probe permit of the panicked call is freed")
	require.NoError(t, b.Execute(t.Context(), succeed))
	assert.Equal(t, []messages.State{messages.Open, messages.Closed}, seen)
}

// TestBreakerConcurrentUse runs many callers at once (under -race) and
// checks that HALF_OPEN never holds more than HalfOpenProbes probes of one
// generation and that transitions arrive one at a time, each starting in
// the state the last one ended in.
func TestBreakerConcurrentUse(t *testing.T) {
	const probes, workers, rounds = 3, 16, 400
	var last Transition
	halfOpens := 0 // written only by the callback, which runs one call at a time
	chain := func(tr Transition) {
		assert.Equal(t, last.To, tr.From)
		assert.Greater(t, tr.Generation, last.Generation)
		if tr.To == messages.HalfOpen {
			halfOpens++
		}
		last = tr
	}
	b, clk := newBreaker(t, Policy{FailureThreshold: 2, OpenTimeout: 5 * time.Millisecond,
		HalfOpenProbes: probes, MaxHalfOpenWait: time.Hour}, WithOnTransition(chain))

	var mu sync.Mutex
	held := map[uint64]int{} // probe permits held, per generation
	hold := func(p Permit, n int) {
		mu.Lock()
		defer mu.Unlock()
		if p.Probe {
			held[p.Generation] += n
			assert.LessOrEqual(t, held[p.Generation], probes)
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				clk.Add(time.Millisecond)
				err := []error{errBoom, nil, nil}[(w+i)%3]
				if w%2 == 0 {
					_ = b.Execute(t.Context(), func(context.Context) error { return err })
					continue
				}
				p, aerr := b.Allow()
				if aerr != nil {
					assert.ErrorIs(t, aerr, messages.ErrCircuitOpen)
					continue
				}
				hold(p, 1)
				assert.LessOrEqual(t, b.Snapshot().ProbesInFlight, probes)
				hold(p, -1)
				b.Done(p, err, 0)
			}
		})
	}
	wg.Wait()
	assert.Positive(t, halfOpens, "the breaker went HALF_OPEN")
}
