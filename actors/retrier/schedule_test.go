package retrier

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

type mark int

func (mark) Due() {}

// The schedule pops its entries in time order whatever the pushes and
// removals before, as a sorted list would.
func TestScheduleIsAMinHeap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rapid.Check(t, func(t *rapid.T) {
		var s schedule
		var model []time.Time
		for i, op := range rapid.SliceOfN(rapid.IntRange(0, 2), 1, 200).Draw(t, "ops") {
			switch {
			case op < 2 || len(s) == 0: // push, twice as often
				at := t0.Add(time.Duration(rapid.IntRange(0, 50).Draw(t, "at")) * time.Millisecond)
				s.push(entry{at: at, due: mark(i)})
				model = append(model, at)
			default: // remove any one
				j := rapid.IntRange(0, len(s)-1).Draw(t, "index")
				e := s.remove(j)
				k := slices.IndexFunc(model, e.at.Equal)
				require.GreaterOrEqual(t, k, 0)
				model = slices.Delete(model, k, k+1)
			}
			require.Len(t, s, len(model))
		}
		slices.SortFunc(model, func(a, b time.Time) int { return a.Compare(b) })
		for _, want := range model {
			require.Equal(t, want, s.pop().at)
		}
		require.Empty(t, s)
	})
}
