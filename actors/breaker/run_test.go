package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/warden-go/warden/messages"
)

func TestFailureRunFollowsTheOrderCallsEnded(t *testing.T) {
	tests := []struct {
		name string
		ops  []int64 // +seq a success, -seq a failure, in arrival order
		want int
	}{
		{"in order", []int64{-1, -2, 3, -4}, 1},
		{"a success overtakes the failure before it", []int64{2, -1, -3}, 1},
		{"late success ends only the earlier failures", []int64{-1, -3, 2}, 1},
		{"late old success changes nothing", []int64{5, -6, 4}, 1},
		{"stale failure before a success", []int64{-2, 3, -1}, 0},
		{"alternating, every pair swapped", []int64{2, -1, 4, -3, 6, -5, 8, -7}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r failureRun
			for _, op := range tt.ops {
				if op > 0 {
					r.success(uint64(op))
				} else {
					r.failure(uint64(-op))
				}
			}
			assert.Equal(t, tt.want, r.len())
		})
	}
}

func TestFailureRunIsBounded(t *testing.T) {
	var r failureRun
	for i := uint64(1); i <= 1000; i++ {
		r.failure(i)
	}
	assert.Equal(t, 1000, r.len())
	assert.LessOrEqual(t, len(r.seqs), maxRunSeqs)
	r.success(1001)
	assert.Equal(t, 0, r.len())
}

// Strictly alternating calls whose reports arrive pairwise swapped never
// make a run of two: the defect where a success that raced its
// predecessor's failure report was lost and a threshold-2 breaker tripped.
func TestAlternatingOutcomesReorderedNeverTrip(t *testing.T) {
	m, err := NewMachine(Policy{FailureThreshold: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := Permit{Generation: m.Snapshot(t0).Generation}
	for i := uint64(0); i < 3000; i++ {
		fail, ok := 2*i+1, 2*i+2 // the failure ended first
		m.Record(t0, Report{Permit: p, Outcome: messages.Success, Seq: ok})
		m.Record(t0, Report{Permit: p, Outcome: messages.Failure, Seq: fail})
	}
	assert.Equal(t, messages.Closed, m.State())
	m.Record(t0, Report{Permit: p, Outcome: messages.Failure, Seq: 6001})
	m.Record(t0, Report{Permit: p, Outcome: messages.Failure, Seq: 6002})
	assert.Equal(t, messages.Open, m.State(), "two failures in a row still trip")
}
