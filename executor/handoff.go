package executor

import (
	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/messages"
)

// retryDue is a job waiting on the retrier's schedule.
type retryDue struct {
	retrier.Slot // so that ending the job takes its retry off at once
	j            *job
	s            state // phaseBackoff
}

// Due is the retrier's hand-back: the backoff is over. It runs inside the
// retrier actor and never blocks.
func (r *retryDue) Due() {
	j, d := r.j, r.j.dep
	if s := j.load(); s != r.s {
		if s.endedFrom(r.s) {
			j.release()
		}
		return
	}
	d.fault(siteRetrier)
	now := d.now()
	v := d.breaker.View()
	a := admitRetry(&d.policy, v, now, j.permit)
	switch a.Verdict {
	case breaker.Admitted:
		j.permit, j.probeOut = a.Permit, false
		if !j.move(r.s, phaseQueued, r.s.attempt()) {
			j.release()
			return
		}
		d.queue <- j // never blocks: j holds its slot
	case breaker.ProbeNeeded:
		if !j.move(r.s, phaseProbe, r.s.attempt()) {
			j.release()
			return
		}
		d.requestProbe(j, mkState(r.s.gen(), r.s.attempt(), 0, phaseProbe))
	default:
		o, err := retryRefused(d.rejection(v, a, now), j.lastErr, r.s.attempt())
		j.end(r.s.gen(), err, o)
		j.release()
	}
}

// probeWaiter is a job waiting for a HALF_OPEN probe permit.
type probeWaiter struct {
	j *job
	s state // phaseProbe
}

func (d *dependency) requestProbe(j *job, s state) {
	if !d.breaker.RequestProbe(probeWaiter{j: j, s: s}) {
		j.end(s.gen(), d.stopErr(), outFailed)
		j.release()
	}
}

// Granted implements breaker.Waiter.
func (w probeWaiter) Granted(p breaker.Permit) {
	j := w.j
	if j.load() == w.s {
		j.permit, j.probeOut = p, true
		if j.move(w.s, phaseQueued, w.s.attempt()) {
			j.dep.queue <- j // never blocks: j holds its slot
			return
		}
	}
	j.dep.breaker.Report(p, messages.Ignored, 0) // not wanted: give it back
	if j.load().endedFrom(w.s) {
		j.release()
	}
}

// Refused implements breaker.Waiter.
func (w probeWaiter) Refused(v *breaker.View) {
	j, d := w.j, w.j.dep
	if s := j.load(); s != w.s {
		if s.endedFrom(w.s) {
			j.release()
		}
		return
	}
	open := v.OpenError(breaker.Admission{Verdict: breaker.Rejected})
	if n := w.s.attempt(); n > 0 {
		o, err := retryRefused(open, j.lastErr, n)
		j.end(w.s.gen(), err, o)
	} else if j.end(w.s.gen(), open, outShortCircuited) {
		d.events.rejected(d, open)
	}
	j.release()
}
