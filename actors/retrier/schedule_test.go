package retrier

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// mark is a Due with no slot: the schedule searches for it.
type mark int

func (mark) Due() {}

// slotMark is a Due with a slot: the schedule finds it at once.
type slotMark struct {
	Slot
	n int
}

func (*slotMark) Due() {}

// The schedule pops its entries in time order whatever the pushes and
// removals before, as a sorted list would; every entry with a slot has
// its index there, and an entry taken off has none.
func TestScheduleIsAMinHeap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s schedule
		var model []int64
		var off []*slotMark // taken off the schedule
		for i, op := range rapid.SliceOfN(rapid.IntRange(0, 3), 1, 200).Draw(t, "ops") {
			switch {
			case op < 2 || len(s) == 0: // push, half the time
				at := int64(rapid.IntRange(0, 50).Draw(t, "at"))
				e := entry{at: at, due: mark(i)}
				if rapid.Bool().Draw(t, "slotted") {
					d := &slotMark{n: i}
					e.due, e.slot = d, &d.Slot
				}
				s.push(e)
				model = append(model, at)
			default: // find and remove any one
				want := rapid.IntRange(0, len(s)-1).Draw(t, "index")
				j := s.find(s[want].due)
				require.Equal(t, want, j)
				e := s.remove(j)
				if d, ok := e.due.(*slotMark); ok {
					off = append(off, d)
				}
				k := slices.Index(model, e.at)
				require.GreaterOrEqual(t, k, 0)
				model = slices.Delete(model, k, k+1)
			}
			require.Len(t, s, len(model))
			for i, e := range s {
				if e.slot != nil {
					require.Equal(t, int32(i+1), e.slot.i, "slot of entry %d", i)
				}
			}
			for _, d := range off {
				require.Zero(t, d.i)
				require.Equal(t, -1, s.find(d))
			}
		}
		slices.Sort(model)
		for _, want := range model {
			require.Equal(t, want, s.pop().at)
		}
		require.Empty(t, s)
	})
}
