package executor

import (
	"sync"
	"time"
)

// deadlines watches the deadlines of a dependency's jobs with one timer.
// Most jobs get their deadline from the dependency's Timeout, so their
// deadlines come due in the order the jobs were submitted: the jobs wait
// in a first-in first-out list and the timer is armed for the earliest.
// Taking a job out only clears its entry, and the timer is left as it is:
// when it fires early it re-arms itself for the job now first. A job
// whose deadline would break the order (its caller's deadline is earlier,
// or it is a retry) gets a timer of its own instead.
//
// Against a timer per job this saves a timer start and stop per job: a
// busy dependency re-arms its timer about once per job that reaches its
// deadline, and otherwise about once per Timeout.
type deadlines struct {
	mu       sync.Mutex
	buf      []*job // the list is buf[off:]; nil entries left early
	off      int
	first    uint64    // the sequence number of buf[off]
	last     time.Time // the latest deadline in the list
	armed    bool      // the timer is set, for armedFor
	armedFor time.Time // no later than the first deadline in the list
	timer    *time.Timer
}

func newDeadlines() *deadlines {
	q := &deadlines{first: 1}
	q.timer = time.AfterFunc(time.Hour, q.fire)
	q.timer.Stop()
	return q
}

// add puts j in the list, unless its deadline comes before the latest in
// the list; it reports whether it did. now is the caller's clock read.
func (q *deadlines) add(j *job, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.buf) - q.off
	if n > 0 && j.deadline.Before(q.last) {
		return false
	}
	if n == 0 && q.off > 0 {
		q.buf, q.off = q.buf[:0], 0
	} else if q.off > 1024 && q.off > len(q.buf)/2 {
		live := copy(q.buf, q.buf[q.off:])
		clear(q.buf[live:])
		q.buf, q.off = q.buf[:live], 0
	}
	j.dlSeq = q.first + uint64(len(q.buf)-q.off)
	q.buf = append(q.buf, j)
	q.last = j.deadline
	// The list may have emptied since the timer was set for a later
	// deadline than this one.
	if !q.armed || j.deadline.Before(q.armedFor) {
		q.armed, q.armedFor = true, j.deadline
		q.timer.Reset(j.deadline.Sub(now))
	}
	return true
}

// remove takes j out of the list, if it is there.
func (q *deadlines) remove(j *job) {
	q.mu.Lock()
	if j.dlSeq != 0 {
		q.buf[q.off+int(j.dlSeq-q.first)] = nil
		j.dlSeq = 0
		q.trim()
	}
	q.mu.Unlock()
}

// trim drops the empty entries at the front of the list.
func (q *deadlines) trim() {
	for q.off < len(q.buf) && q.buf[q.off] == nil {
		q.off++
		q.first++
	}
}

// fire ends the jobs whose deadlines have passed and re-arms the timer for
// the first one left.
func (q *deadlines) fire() {
	now := time.Now()
	var due []*job
	q.mu.Lock()
	for q.off < len(q.buf) {
		j := q.buf[q.off]
		if j.deadline.After(now) {
			break
		}
		due = append(due, j)
		j.dlSeq = 0
		q.buf[q.off] = nil
		q.off++
		q.first++
		q.trim()
	}
	q.armed = q.off < len(q.buf)
	if q.armed {
		q.armedFor = q.buf[q.off].deadline
		q.timer.Reset(q.armedFor.Sub(now))
	}
	q.mu.Unlock()
	for _, j := range due {
		j.onDeadline()
	}
}

// stop stops the timer; the list is empty once the dependency stopped.
func (q *deadlines) stop() {
	q.mu.Lock()
	q.armed = false
	q.timer.Stop()
	q.mu.Unlock()
}
