package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	ebreaker "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	fcircuit "github.com/failsafe-go/failsafe-go/circuitbreaker"
	fretry "github.com/failsafe-go/failsafe-go/retrypolicy"
	ftimeout "github.com/failsafe-go/failsafe-go/timeout"
	"github.com/sony/gobreaker/v2"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

// job is the work under test: it returns its argument, or an error.
type job func(ctx context.Context) (int, error)

// caller runs one job against dependency dep and returns its result.
type caller func(ctx context.Context, dep int, fn job) (int, error)

// setup says what a peer is built for.
type setup struct {
	deps, par int
	// threshold is the consecutive failures that open a breaker.
	threshold int
}

// peer builds a caller for a setup; stop releases what it started.
type peer struct {
	name  string
	build func(s setup) (call caller, stop func(), err error)
}

const poolWorkers = 4 // per dependency, for every pooled peer

var errTransient = errors.New("transient")

var (
	direct = peer{"direct", func(setup) (caller, func(), error) {
		return func(ctx context.Context, _ int, fn job) (int, error) { return fn(ctx) }, func() {}, nil
	}}
	chanPool = peer{"chanpool", func(s setup) (caller, func(), error) {
		pools := newPools(s.deps, s.par)
		return func(ctx context.Context, dep int, fn job) (int, error) { return pools[dep].call(ctx, fn) },
			func() { stopPools(pools) }, nil
	}}
	// gobreaker guards the pool from the caller's side: an open breaker
	// rejects before the pool sees the call.
	gobreakerPool = peer{"chanpool+gobreaker", func(s setup) (caller, func(), error) {
		pools := newPools(s.deps, s.par)
		cbs := newGobreakers(s)
		return func(ctx context.Context, dep int, fn job) (int, error) {
			return cbs[dep].Execute(func() (int, error) { return pools[dep].call(ctx, fn) })
		}, func() { stopPools(pools) }, nil
	}}
	// gobreaker inside the pool's workers: the other placement a careful
	// engineer might choose; the faster of the two is the baseline.
	gobreakerWorker = peer{"chanpool+gobreaker-worker", func(s setup) (caller, func(), error) {
		pools := newPools(s.deps, s.par)
		cbs := newGobreakers(s)
		return func(ctx context.Context, dep int, fn job) (int, error) {
			cb := cbs[dep]
			return pools[dep].call(ctx, func(ctx context.Context) (int, error) {
				return cb.Execute(func() (int, error) { return fn(ctx) })
			})
		}, func() { stopPools(pools) }, nil
	}}
	eapache = peer{"eapache", func(s setup) (caller, func(), error) {
		bs := make([]*ebreaker.Breaker, s.deps)
		for i := range bs {
			bs[i] = ebreaker.New(s.threshold, 1, time.Hour)
		}
		return func(ctx context.Context, dep int, fn job) (int, error) {
			var v int
			err := bs[dep].Run(func() (err error) { v, err = fn(ctx); return err })
			return v, err
		}, func() {}, nil
	}}
	failsafeBreaker = peer{"failsafe-breaker", func(s setup) (caller, func(), error) {
		exs := make([]failsafe.Executor[int], s.deps)
		for i := range exs {
			exs[i] = failsafe.With[int](fcircuit.NewBuilder[int]().WithFailureThreshold(uint(s.threshold)).WithDelay(time.Hour).Build())
		}
		return func(ctx context.Context, dep int, fn job) (int, error) {
			return exs[dep].WithContext(ctx).Get(func() (int, error) { return fn(ctx) })
		}, func() {}, nil
	}}
	failsafeFull = peer{"failsafe-full", func(s setup) (caller, func(), error) {
		exs := make([]failsafe.Executor[int], s.deps)
		for i := range exs {
			exs[i] = failsafe.With[int](
				fretry.NewBuilder[int]().WithMaxAttempts(3).WithDelay(time.Nanosecond).Build(),
				fcircuit.NewBuilder[int]().WithFailureThreshold(uint(s.threshold)).WithDelay(time.Hour).Build(),
				ftimeout.New[int](10*time.Second),
			)
		}
		return func(ctx context.Context, dep int, fn job) (int, error) {
			return exs[dep].WithContext(ctx).GetWithExecution(func(e failsafe.Execution[int]) (int, error) { return contain(e.Context(), fn) })
		}, func() {}, nil
	}}
	// warden calls by name, as executor.Do does.
	warden = peer{"warden", func(s setup) (caller, func(), error) {
		names := make([]string, s.deps)
		opts := []executor.Option{}
		for i := range names {
			names[i] = fmt.Sprint("dep-", i)
			opts = append(opts, executor.WithDependency(names[i], wardenPolicy(s)))
		}
		ex, err := executor.New(opts...)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context, dep int, fn job) (int, error) {
				return executor.Do(ctx, ex, names[dep], fn)
			}, func() {
				if err := ex.Shutdown(context.Background()); err != nil {
					panic(err)
				}
			}, nil
	}}
)

// wardenHandle calls through dependency handles (executor.Call): no
// lookup by name.
var wardenHandle = wardenHandleWith("warden-handle", nil)

// wardenHandleWith is the warden-handle peer with the executor options
// opts makes for each build.
func wardenHandleWith(name string, opts func() []executor.Option) peer {
	return peer{name, func(s setup) (caller, func(), error) {
		var o []executor.Option
		if opts != nil {
			o = opts()
		}
		_, call, stop, err := handles(s, o)
		return call, stop, err
	}}
}

// handles builds an executor with opts and s's dependencies, and a
// caller through their handles.
func handles(s setup, opts []executor.Option) (*executor.Executor, caller, func(), error) {
	for i := range s.deps {
		opts = append(opts, executor.WithDependency(fmt.Sprint("dep-", i), wardenPolicy(s)))
	}
	ex, err := executor.New(opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	hs := make([]*executor.Dependency, s.deps)
	for i := range hs {
		if hs[i], err = ex.Dependency(fmt.Sprint("dep-", i)); err != nil {
			return nil, nil, nil, err
		}
	}
	return ex, func(ctx context.Context, dep int, fn job) (int, error) {
			return executor.Call(ctx, hs[dep], fn)
		}, func() {
			if err := ex.Shutdown(context.Background()); err != nil {
				panic(err)
			}
		}, nil
}

func newGobreakers(s setup) []*gobreaker.CircuitBreaker[int] {
	cbs := make([]*gobreaker.CircuitBreaker[int], s.deps)
	for i := range cbs {
		cbs[i] = gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
			Name:        fmt.Sprint("dep-", i),
			Timeout:     time.Hour,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(s.threshold) },
		})
	}
	return cbs
}

// wardenPolicy is the full policy: pool, breaker, retries, a job timeout
// and an attempt timeout, with a queue deep enough that the callers are
// never rejected.
func wardenPolicy(s setup) executor.Policy {
	return executor.Policy{
		Timeout:        10 * time.Second,
		AttemptTimeout: 5 * time.Second,
		Retry:          retrier.Policy{MaxAttempts: 3, InitialDelay: time.Nanosecond, Jitter: retrier.NoJitter},
		Breaker:        breaker.Policy{FailureThreshold: s.threshold, OpenTimeout: time.Hour},
		Pool:           executor.Pool{Workers: poolWorkers, Queue: max(s.par, 1)},
	}
}

var errPanicked = errors.New("job panicked")

// contain turns a job's panic into an error, for peers that do not contain
// panics themselves (the mixed-faults scenario panics on purpose).
func contain(ctx context.Context, fn job) (v int, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = 0, errPanicked
		}
	}()
	return fn(ctx)
}

// pool is the hand-written baseline: a fixed set of goroutines ranging
// over a channel (no select per job), each call with its own reply
// channel.
type pool struct {
	tasks chan task // buffered to the number of callers: sends never wait on the buffer
}

type task struct {
	ctx   context.Context
	fn    job
	reply chan result
}

type result struct {
	v   int
	err error
}

func newPools(deps, par int) []*pool {
	ps := make([]*pool, deps)
	for i := range ps {
		p := &pool{tasks: make(chan task, max(par, 1))}
		for range poolWorkers {
			go p.work()
		}
		ps[i] = p
	}
	return ps
}

// stopPools ends the workers; every caller has returned by then.
func stopPools(ps []*pool) {
	for _, p := range ps {
		close(p.tasks)
	}
}

func (p *pool) work() {
	for t := range p.tasks {
		v, err := contain(t.ctx, t.fn)
		t.reply <- result{v, err}
	}
}

func (p *pool) call(ctx context.Context, fn job) (int, error) {
	reply := make(chan result, 1)
	p.tasks <- task{ctx, fn, reply}
	r := <-reply
	return r.v, r.err
}
