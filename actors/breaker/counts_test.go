package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/warden-go/warden/messages"
)

// oneByOne feeds successes then failures through Allow and Report, the
// reference RecordCounts stands for.
func oneByOne(m *Machine, now time.Time, successes, failures int) {
	feed := func(n int, err error) {
		for range n {
			d := m.Allow(now)
			if !d.Allowed {
				return
			}
			m.Report(now, d.Permit, err, 0)
		}
	}
	feed(successes, nil)
	feed(failures, errBoom)
}

// For a consecutive-failure breaker, recording counts in bulk decides
// what recording them one by one decides, batch after batch: the same
// state, failure run and counts.
func TestRecordCountsIsOneByOne(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := Policy{FailureThreshold: rapid.IntRange(1, 20).Draw(t, "threshold"), OpenTimeout: time.Second}
		bulk, ref := must(NewMachine(p, 1)), must(NewMachine(p, 1))
		now := t0
		for i := range rapid.IntRange(1, 30).Draw(t, "batches") {
			s, f := rapid.IntRange(0, 30).Draw(t, "successes"), rapid.IntRange(0, 30).Draw(t, "failures")
			now = now.Add(time.Duration(rapid.IntRange(0, 1500).Draw(t, "ms")) * time.Millisecond)
			bulk.Tick(now)
			ref.Tick(now)
			if bulk.State() != messages.Closed {
				continue // the fleet settles other states itself
			}
			bulk.RecordCounts(now, s, f)
			oneByOne(ref, now, s, f)
			a, b := bulk.Snapshot(now), ref.Snapshot(now)
			require.Equal(t, b.State, a.State, "batch %d", i)
			require.Equal(t, b.ConsecutiveFailures, a.ConsecutiveFailures, "batch %d", i)
			require.Equal(t, b.OpenUntil, a.OpenUntil, "batch %d", i)
			if a.State == messages.Closed {
				require.Equal(t, b.Calls, a.Calls, "batch %d", i)
				require.Equal(t, b.Failures, a.Failures, "batch %d", i)
			}
		}
	})
}

func must(m *Machine, err error) *Machine {
	if err != nil {
		panic(err)
	}
	return m
}

// A rate rule reads the bulk counts as the calls they stand for: a
// time-based window holds all of them, however many, and a count-based
// one the last of them.
func TestRecordCountsRates(t *testing.T) {
	timed := newMachine(t, Policy{FailureRateThreshold: 0.5, MinimumCalls: 1000, WindowDuration: 10 * time.Second, OpenTimeout: time.Second})
	timed.RecordCounts(t0, 1_000_000, 0)
	timed.RecordCounts(t0, 0, 999_999)
	assert.Equal(t, messages.Closed, timed.State(), "999,999 failures of 1,999,999: just under half")
	s := timed.Snapshot(t0)
	assert.Equal(t, 1_999_999, s.WindowCalls)
	assert.Equal(t, messages.Open, timed.RecordCounts(t0, 0, 1).To, "one more: half")

	counted := newMachine(t, Policy{FailureRateThreshold: 0.5, WindowSize: 100, MinimumCalls: 10, OpenTimeout: time.Second})
	counted.RecordCounts(t0, 1_000_000, 0)
	assert.Equal(t, 100, counted.Snapshot(t0).WindowCalls, "the window's length")
	assert.Equal(t, messages.Open, counted.RecordCounts(t0, 0, 50).To, "50 failures of the last 100 calls")

	// Outside CLOSED and DISABLED it changes nothing.
	assert.Equal(t, Transition{}, counted.RecordCounts(t0, 0, 1000))
	assert.Equal(t, messages.Open, counted.State())
	disabled := newMachine(t, Policy{FailureThreshold: 1, OpenTimeout: time.Second})
	disabled.Disable(t0)
	assert.Equal(t, Transition{}, disabled.RecordCounts(t0, 0, 10))
	assert.Equal(t, uint64(10), disabled.Snapshot(t0).Failures, "counted, never tripping")
}
