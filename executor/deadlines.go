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
// deadline, and otherwise about once per Timeout. When a long job at its
// front holds the list while later jobs come and go, the list is
// compacted: its empty slots stay within 64 or three times the jobs in it.
type deadlines struct {
	mu       sync.Mutex
	buf      []*job // the list is buf[off:]; nil entries left early
	off      int
	live     int       // the non-nil entries
	last     time.Time // the latest deadline in the list
	armed    bool      // the timer is set, for armedFor
	armedFor time.Time // no later than the first deadline in the list
	timer    *time.Timer
	compacts int // how many times the list was compacted, for tests
}

func newDeadlines() *deadlines {
	q := &deadlines{}
	q.timer = time.AfterFunc(time.Hour, q.fire)
	q.timer.Stop()
	return q
}

// add puts j in the list, unless its deadline comes before the latest in
// the list; it reports whether it did. now is the caller's clock read.
func (q *deadlines) add(j *job, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.live > 0 && j.deadline.Before(q.last) {
		return false
	}
	if q.live == 0 { // start over, letting a burst's large array go
		if cap(q.buf) > shrinkAbove {
			q.buf = nil
		}
		q.buf, q.off = q.buf[:0], 0
	}
	q.buf = append(q.buf, j)
	j.dlSlot = len(q.buf) // its index plus one
	q.live++
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
	if j.dlSlot != 0 {
		q.buf[j.dlSlot-1] = nil
		j.dlSlot = 0
		q.live--
		q.trim()
	}
	q.mu.Unlock()
}

// trim drops the empty entries at the front of the list, and compacts it
// once it is more than four times as long as the jobs in it.
func (q *deadlines) trim() {
	for q.off < len(q.buf) && q.buf[q.off] == nil {
		q.off++
	}
	if span := len(q.buf) - q.off; span > 64 && span > 4*q.live {
		q.compact()
	}
}

// compact moves the jobs in the list to the start of buf, in order, and
// tells each its new place. Each call removes at least three empty
// entries per job it moves, so its cost is paid for by the removals that
// made them.
func (q *deadlines) compact() {
	q.compacts++
	w := 0
	for _, j := range q.buf[q.off:] {
		if j != nil {
			q.buf[w] = j
			w++
			j.dlSlot = w
		}
	}
	clear(q.buf[w:])
	q.buf, q.off = q.buf[:w], 0
	if cap(q.buf) > shrinkAbove && cap(q.buf) > 8*w {
		q.buf = append(make([]*job, 0, 2*w+16), q.buf...)
	}
}

// shrinkAbove is the capacity above which the list lets go of an array
// that has become mostly unused.
const shrinkAbove = 1024

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
		j.dlSlot = 0
		q.buf[q.off] = nil
		q.live--
		q.trim()
	}
	q.armed = q.live > 0
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
