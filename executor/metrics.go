package executor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/warden-go/warden/messages"
)

// meterName is the instrumentation scope of the executor's instruments.
const meterName = "github.com/warden-go/warden/executor"

// durationBounds are the bucket boundaries of warden.call.duration, in
// seconds: from half a millisecond to ten seconds.
var durationBounds = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// meters are an executor's OpenTelemetry instruments. The counts are
// read at collection from the counters the executor keeps anyway, so
// the one instrument a job writes is the duration histogram.
type meters struct {
	duration metric.Float64Histogram
	enabled  interface{ Enabled(context.Context) bool } // duration's, if it says
	reg      metric.Registration

	calls, attempts, retries, denied, transitions, restarts metric.Int64ObservableCounter
	state, inFlight, queued, workers, abandoned             metric.Int64ObservableGauge
}

// newMeters makes the instruments on mp's meter and registers the
// callback that observes every dependency of ex.
func newMeters(ex *Executor, mp metric.MeterProvider) (*meters, error) {
	mt := mp.Meter(meterName)
	m := &meters{}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := mt.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := mt.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	var err error
	m.duration, err = mt.Float64Histogram("warden.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from a job's submission to its end, by outcome."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	errs = append(errs, err)
	m.enabled, _ = m.duration.(interface{ Enabled(context.Context) bool })
	m.calls = counter("warden.calls", "{call}", "Jobs ended, by outcome.")
	m.attempts = counter("warden.attempts", "{attempt}", "Attempts started.")
	m.retries = counter("warden.retries", "{retry}", "Retries scheduled.")
	m.denied = counter("warden.retries.denied", "{retry}", "Retries the retry budget refused.")
	m.transitions = counter("warden.circuitbreaker.transitions", "{transition}", "Breaker state changes, by from and to.")
	m.restarts = counter("warden.supervisor.restarts", "{restart}", "Crashed actors and workers restarted, by actor.")
	m.state = gauge("warden.circuitbreaker.state", "{state}", "1 for the breaker's state, 0 for every other state.")
	m.inFlight = gauge("warden.pool.in_flight", "{job}", "Admitted jobs not yet ended.")
	m.queued = gauge("warden.pool.queued", "{job}", "Jobs waiting for a worker.")
	m.workers = gauge("warden.pool.workers", "{worker}", "Worker goroutines reading the job channel.")
	m.abandoned = gauge("warden.pool.abandoned", "{worker}", "Workers still stuck in a function that outlived its deadline.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.reg, err = mt.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, d := range *ex.deps.Load() {
			m.observe(d, o)
		}
		return nil
	}, m.calls, m.attempts, m.retries, m.denied, m.transitions, m.restarts,
		m.state, m.inFlight, m.queued, m.workers, m.abandoned)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// stop unregisters the callback; m may be nil.
func (m *meters) stop() {
	if m != nil {
		_ = m.reg.Unregister()
	}
}

// observe reports d's counts and gauges.
func (m *meters) observe(d *dependency, o metric.Observer) {
	a := d.attrs()
	st := d.stats()
	ended := [numOutcomes]uint64{st.Succeeded, st.Failed, st.TimedOut, st.ShortCircuited, st.Rejected, st.Cancelled, st.Panicked}
	for out, n := range ended {
		o.ObserveInt64(m.calls, int64(n), a.outcome[out])
	}
	o.ObserveInt64(m.attempts, int64(st.Attempts), a.dep)
	o.ObserveInt64(m.retries, int64(st.Retries), a.dep)
	o.ObserveInt64(m.denied, int64(st.RetriesDenied), a.dep)
	for s := range a.state {
		v := int64(0)
		if st.State == messages.State(s) {
			v = 1
		}
		o.ObserveInt64(m.state, v, a.state[s])
	}
	if t := d.transitions.Load(); t != nil {
		for from := range t {
			for to := range t[from] {
				if n := t[from][to].Load(); n > 0 {
					o.ObserveInt64(m.transitions, int64(n), a.transition(from, to))
				}
			}
		}
	}
	for i := range d.restarts {
		o.ObserveInt64(m.restarts, int64(d.restarts[i].Load()), a.actor[i])
	}
	o.ObserveInt64(m.inFlight, st.InFlight, a.dep)
	o.ObserveInt64(m.queued, int64(st.Queued), a.dep)
	o.ObserveInt64(m.workers, d.liveWorkers.Load(), a.dep)
	o.ObserveInt64(m.abandoned, st.AbandonedWorkers, a.dep)
}

// durationOn says whether the duration histogram records anything: an
// SDK whose views drop it says no, and the clock is not read for it.
func (m *meters) durationOn(ctx context.Context) bool {
	return m.enabled == nil || m.enabled.Enabled(ctx)
}

// measure returns job j's duration dur, ended as o, ready to record.
func (m *meters) measure(j *job, o outcome, dur time.Duration) measurement {
	return measurement{h: m.duration, ctx: j.parent, secs: dur.Seconds(), opts: j.dep.recordOpts()[o]}
}

// measurement is a duration to record; the zero value records nothing.
type measurement struct {
	h    metric.Float64Histogram
	ctx  context.Context
	secs float64
	opts []metric.RecordOption
}

func (r *measurement) record() {
	if r.h != nil {
		r.h.Record(r.ctx, r.secs, r.opts...)
	}
}

// depAttrs are a dependency's attribute sets, made once it is first
// measured: an idle dependency under a no-op provider holds none.
type depAttrs struct {
	dep     metric.MeasurementOption
	outcome [numOutcomes]metric.MeasurementOption
	state   [numStates]metric.MeasurementOption
	actor   [numActors]metric.MeasurementOption

	name string
	mu   sync.Mutex
	from [numStates][numStates]metric.MeasurementOption // made as seen
}

// numStates is the number of breaker states.
const numStates = int(messages.Disabled) + 1

func newDepAttrs(name string) *depAttrs {
	dep := attribute.String("dependency", name)
	a := &depAttrs{name: name, dep: metric.WithAttributeSet(attribute.NewSet(dep))}
	for o := range a.outcome {
		a.outcome[o] = metric.WithAttributeSet(attribute.NewSet(dep, attribute.String("outcome", outcome(o).String())))
	}
	for s := range a.state {
		a.state[s] = metric.WithAttributeSet(attribute.NewSet(dep, attribute.String("state", messages.State(s).String())))
	}
	for i := range a.actor {
		a.actor[i] = metric.WithAttributeSet(attribute.NewSet(dep, attribute.String("actor", actorNames[i])))
	}
	return a
}

func (a *depAttrs) transition(from, to int) metric.MeasurementOption {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.from[from][to] == nil {
		a.from[from][to] = metric.WithAttributeSet(attribute.NewSet(attribute.String("dependency", a.name),
			attribute.String("from", messages.State(from).String()), attribute.String("to", messages.State(to).String())))
	}
	return a.from[from][to]
}

// attrs returns d's attribute sets, making them at the first call.
func (d *dependency) attrs() *depAttrs {
	if a := d.attrSets.Load(); a != nil {
		return a
	}
	d.attrSets.CompareAndSwap(nil, newDepAttrs(d.name))
	return d.attrSets.Load()
}

// recordOpts returns the histogram's options per outcome, making them at
// the first call.
func (d *dependency) recordOpts() *[numOutcomes][]metric.RecordOption {
	if r := d.recOpts.Load(); r != nil {
		return r
	}
	a := d.attrs()
	var r [numOutcomes][]metric.RecordOption
	for o := range r {
		r[o] = []metric.RecordOption{a.outcome[o]}
	}
	d.recOpts.CompareAndSwap(nil, &r)
	return d.recOpts.Load()
}

// transitionCounts counts a breaker's transitions by from and to; made
// at the first transition.
type transitionCounts [numStates][numStates]atomic.Uint64

// countTransition counts a transition. It runs in the breaker actor.
func (d *dependency) countTransition(from, to messages.State) {
	if int(from) >= numStates || int(to) >= numStates {
		return
	}
	t := d.transitions.Load()
	if t == nil {
		d.transitions.CompareAndSwap(nil, new(transitionCounts))
		t = d.transitions.Load()
	}
	t[from][to].Add(1)
}

// The actors and workers a dependency's supervisor restarts, by the
// names it gives them.
const (
	actorBreaker = iota
	actorRetrier
	actorWorker
	numActors
)

var actorNames = [numActors]string{"breaker", "retrier", "worker"}

// countRestart counts a restart of the child named child.
func (d *dependency) countRestart(child string) {
	for i, n := range actorNames {
		if n == child {
			d.restarts[i].Add(1)
			return
		}
	}
	d.restarts[actorWorker].Add(1) // not reached: the supervisor has no other child
}

// restartCount is the number of restarts of every kind.
func (d *dependency) restartCount() uint64 {
	var n uint64
	for i := range d.restarts {
		n += d.restarts[i].Load()
	}
	return n
}
