package breaker

import "slices"

// maxRunSeqs bounds the failures of a run kept by their place in order;
// older ones are only counted.
const maxRunSeqs = 64

// failureRun is the current run of consecutive failures, kept in the
// order in which calls ended (their Seq) rather than the order in which
// their reports arrive: calls end on many goroutines and their reports
// can overtake one another. A success ends the failures that ended
// before it; failures that ended after it stay in the run.
type failureRun struct {
	lastSuccess uint64   // Seq of the latest success that ended the run
	seqs        []uint64 // failures after lastSuccess, ascending
	older       int      // failures of the run beyond maxRunSeqs, or without a Seq
}

func (r *failureRun) len() int { return r.older + len(r.seqs) }

func (r *failureRun) reset() {
	r.seqs, r.older = r.seqs[:0], 0
}

// failure adds a failure that ended at seq; zero means "after every call
// seen so far".
func (r *failureRun) failure(seq uint64) {
	if seq == 0 {
		r.older++
		return
	}
	if seq < r.lastSuccess {
		return // a success that ended after it was reported already
	}
	i, _ := slices.BinarySearch(r.seqs, seq)
	r.seqs = slices.Insert(r.seqs, i, seq)
	if len(r.seqs) > maxRunSeqs {
		r.seqs = slices.Delete(r.seqs, 0, 1)
		r.older++
	}
}

// success ends the failures that ended before seq; zero means every
// failure seen so far.
func (r *failureRun) success(seq uint64) {
	if seq == 0 {
		r.reset()
		return
	}
	if seq < r.lastSuccess {
		return
	}
	r.lastSuccess = seq
	i, _ := slices.BinarySearch(r.seqs, seq)
	// Failures only counted (past the bound) ended before the ones kept;
	// they are taken to have ended before this success too.
	r.older = 0
	r.seqs = slices.Delete(r.seqs, 0, i)
}
