package retrier

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
)

// The ledger, step by step: what it allows as calls and time go by.
func TestLedgerTable(t *testing.T) {
	type step struct {
		at    time.Duration // since t0
		calls uint64        // the counter of all calls
		tries int           // retries asked for at once
		want  int           // of which allowed
	}
	for _, tc := range []struct {
		name   string
		budget Budget
		steps  []step
	}{
		{"the floor alone: PerSecond over the first second", Budget{Ratio: 0.2, PerSecond: 10, Window: 10 * time.Second},
			[]step{{0, 0, 15, 10}}},
		{"calls add a fifth", Budget{Ratio: 0.2, PerSecond: 1, Window: 10 * time.Second},
			[]step{{0, 0, 1, 1}, {time.Second, 100, 30, 20}}}, // 0.2*100 + 1*1 s, less the one made
		{"the floor grows with the window seen", Budget{Ratio: 0.2, PerSecond: 10, Window: 10 * time.Second},
			[]step{{0, 0, 10, 10}, {5 * time.Second, 0, 100, 40}}}, // 10/s over 5 s, less 10
		{"old retries leave the window", Budget{Ratio: 0.5, PerSecond: 1, Window: 10 * time.Second},
			[]step{{0, 0, 5, 1}, {11 * time.Second, 10, 10, 1}}}, // a new window: only the floor of one second
		{"a zero ratio and floor allow nothing", Budget{Ratio: 1e-9, PerSecond: 1e-9, Window: time.Second},
			[]step{{0, 1000, 3, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLedger(tc.budget)
			for i, s := range tc.steps {
				got := 0
				for range s.tries {
					if l.Allow(t0.Add(s.at), s.calls) {
						got++
					}
				}
				assert.Equal(t, s.want, got, "step %d", i)
			}
		})
	}
}

// Over any run, the retries a ledger allows never pass Ratio of the
// calls plus PerSecond per second of the run, plus one window's floor.
func TestLedgerBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := Budget{
			Ratio:     rapid.Float64Range(0.01, 1).Draw(t, "ratio"),
			PerSecond: rapid.Float64Range(0, 20).Draw(t, "perSecond"),
			Window:    time.Duration(rapid.IntRange(1, 20).Draw(t, "window")) * time.Second,
		}
		b = b.WithDefaults() // a zero PerSecond is the default's 10
		l := NewLedger(b)
		var calls uint64
		allowed := 0
		now := t0
		for range rapid.IntRange(1, 300).Draw(t, "steps") {
			now = now.Add(time.Duration(rapid.IntRange(0, 2000).Draw(t, "gap")) * time.Millisecond)
			calls += uint64(rapid.IntRange(0, 50).Draw(t, "calls"))
			for range rapid.IntRange(0, 30).Draw(t, "tries") {
				if l.Allow(now, calls) {
					allowed++
				}
			}
		}
		run := now.Sub(t0).Seconds()
		bound := b.Ratio*float64(calls) + b.PerSecond*(run+b.Window.Seconds()) + 1
		require.LessOrEqual(t, float64(allowed), math.Ceil(bound))
	})
}

func TestBudgetValidate(t *testing.T) {
	assert.NoError(t, Budget{}.Validate())
	err := Budget{Ratio: -1, PerSecond: math.NaN(), Window: time.Millisecond}.Validate()
	require.ErrorIs(t, err, messages.ErrInvalidPolicy)
	assert.ElementsMatch(t, []string{"Ratio", "PerSecond", "Window"}, policyerr.Fields(err))
	assert.Equal(t, Budget{Ratio: 0.2, PerSecond: 10, Window: 10 * time.Second}, Budget{}.WithDefaults())
}
