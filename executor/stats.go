package executor

import (
	"slices"
	"strings"
	"time"
)

// Stats describes one dependency. The outcome counters add up: at
// quiescence Submitted equals Ended(), every submitted job counted once in
// Succeeded, Failed, TimedOut, ShortCircuited, Rejected, Cancelled or
// Panicked.
type Stats struct {
	Dependency string
	// State is the breaker's state; Down is set once the dependency's
	// actors crashed past the restart limit.
	State State
	Down  bool
	// OpenUntil is when an OPEN breaker admits a probe; zero in any
	// other state.
	OpenUntil time.Time

	// Submitted counts every call of this dependency with a function and
	// a context.
	Submitted uint64
	// Succeeded counts jobs that returned a value.
	Succeeded uint64
	// Failed counts jobs that ended with the dependency's error, a
	// *RetryError, ErrShutdown or ErrDependencyDown.
	Failed uint64
	// TimedOut counts jobs that ended with a *TimeoutError.
	TimedOut uint64
	// ShortCircuited counts jobs turned away by the breaker.
	ShortCircuited uint64
	// Rejected counts jobs turned away at admission: the pool was full, or
	// the executor or the dependency was closing.
	Rejected uint64
	// Cancelled counts jobs whose caller cancelled them.
	Cancelled uint64
	// Panicked counts jobs that ended with a *PanicError.
	Panicked uint64

	// Attempts counts attempts started; Retries counts retries scheduled;
	// RetriesDenied counts retries the retry budget refused.
	Attempts, Retries, RetriesDenied uint64
	// Abandoned counts workers replaced because the function they ran
	// outlived its attempt's deadline (it ignored its context);
	// AbandonedWorkers is how many of them are still stuck in it. While
	// more than Pool.Workers are, the dependency rejects new calls.
	Abandoned        uint64
	AbandonedWorkers int64
	// Restarts counts crashes of the dependency's actors and workers that
	// were restarted.
	Restarts uint64

	// InFlight is the number of admitted jobs not yet ended; Queued of
	// those waiting for a worker; PendingRetries of those waiting for a
	// retry; WaitingForProbe of those waiting for a probe permit.
	InFlight                                int64
	Queued, PendingRetries, WaitingForProbe int

	// FailureRate is the breaker window's share of failures, zero unless
	// the breaker has a rate rule; ConsecutiveFailures the current run;
	// LastFailure the time of the last failure.
	FailureRate         float64
	ConsecutiveFailures int
	LastFailure         time.Time

	// Latency is the histogram of the durations of the jobs the
	// dependency admitted, from submission to their end.
	Latency Latency

	// EventsDropped counts events dropped executor-wide because the event
	// buffer was full; ListenerPanics counts listener calls that panicked.
	EventsDropped, ListenerPanics uint64
}

// Ended returns the sum of the outcome counters.
func (s Stats) Ended() uint64 {
	return s.Succeeded + s.Failed + s.TimedOut + s.ShortCircuited + s.Rejected + s.Cancelled + s.Panicked
}

// Stats returns the named dependency's statistics, or an error matching
// ErrUnknownDependency.
func (ex *Executor) Stats(dependency string) (Stats, error) {
	d, err := ex.lookup(dependency)
	if err != nil {
		return Stats{}, err
	}
	return d.stats(), nil
}

// Snapshot returns every dependency's statistics, sorted by name.
func (ex *Executor) Snapshot() []Stats {
	var out []Stats
	for _, d := range *ex.deps.Load() {
		out = append(out, d.stats())
	}
	slices.SortFunc(out, func(a, b Stats) int { return strings.Compare(a.Dependency, b.Dependency) })
	return out
}

func (d *dependency) stats() Stats {
	v := d.breaker.View()
	inFlight, waiting := d.countJobs()
	shed := d.shed.load()
	dropped, panics := d.events.q.counts()
	return Stats{
		Dependency:          d.name,
		State:               v.State,
		OpenUntil:           openUntil(v.State, v.OpenUntil),
		Down:                d.down(),
		Submitted:           d.submitted.Load() + shed,
		Succeeded:           d.counts[outSucceeded].Load(),
		Failed:              d.counts[outFailed].Load(),
		TimedOut:            d.counts[outTimedOut].Load(),
		ShortCircuited:      d.counts[outShortCircuited].Load() + shed,
		Rejected:            d.counts[outRejected].Load(),
		Cancelled:           d.counts[outCancelled].Load(),
		Panicked:            d.counts[outPanicked].Load(),
		Attempts:            d.attempts.Load(),
		Retries:             d.retries.Load(),
		RetriesDenied:       d.retriesDenied.Load(),
		Abandoned:           d.abandoned.Load(),
		AbandonedWorkers:    d.stuck.Load(),
		Restarts:            d.restartCount(),
		InFlight:            int64(inFlight),
		Queued:              d.queued(),
		PendingRetries:      d.retrier.Pending(),
		WaitingForProbe:     waiting,
		FailureRate:         v.FailureRate,
		ConsecutiveFailures: v.ConsecutiveFailures,
		LastFailure:         v.LastFailure,
		Latency:             d.latency.Load().read(),
		EventsDropped:       dropped,
		ListenerPanics:      panics,
	}
}

// countJobs counts the jobs not yet ended, and those of them waiting for
// a probe permit, from their state words.
func (d *dependency) countJobs() (inFlight, waitingForProbe int) {
	for _, j := range *d.slots.all.Load() {
		switch j.load().phase() {
		case phaseFree, phaseDone:
			continue
		case phaseProbe:
			waitingForProbe++
		}
		inFlight++
	}
	return inFlight, waitingForProbe
}

// queued is the number of jobs in the job channel.
func (d *dependency) queued() int {
	if !d.poolUp.Load() {
		return 0
	}
	return len(d.queue)
}

func openUntil(s State, at time.Time) time.Time {
	if s != Open {
		return time.Time{}
	}
	return at
}
