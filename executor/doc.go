// Package executor is Warden's public API: it runs jobs against named
// dependencies, each protected by a timeout, retries with backoff, a
// circuit breaker and a bounded pool of workers, all owned by supervised
// actors.
//
// Build one Executor per process, register each dependency with a Policy,
// and run calls through it:
//
//	ex, err := executor.New(
//		executor.WithDependency("postgres", executor.DatabasePolicy()),
//		executor.WithLogger(slog.Default()),
//	)
//	if err != nil { ... }
//	defer ex.Shutdown(context.Background())
//
//	row, err := executor.Do(ctx, ex, "postgres", func(ctx context.Context) (Row, error) {
//		return queryRow(ctx, ...)
//	})
//
// Hold a handle to skip the lookup by name on every call:
//
//	pg, err := ex.Dependency("postgres")
//	row, err = executor.Call(ctx, pg, queryRow)
//	parse := executor.Wrap(pg, parseDocument)       // operation "parseDocument"
//	fut := executor.Go(ctx, pg, charge)             // *Future[T], never blocks
//
// Per dependency, a breaker actor alone owns the breaker's state machine
// and publishes an immutable view that callers admit from without a
// message; a retrier actor owns the schedule of pending retries with one
// timer for the earliest; a fixed pool of worker goroutines, started at
// the first call, reads the dependency's job channel; a watchdog (one timer per dependency) ends
// every attempt at its deadline, whatever its function does, and replaces
// a worker stuck in a function that ignores its context; a supervisor
// actor restarts the actors and workers that crash and, past its restart
// limit, marks the dependency down. Jobs are pooled per dependency (at
// most Workers + Queue of them), each a small state machine with one
// atomic state word and one way to end; after each attempt a pure
// decision says whether the breaker hears of it, whether and when to
// retry, and otherwise how the job ends. The actors of all dependencies
// run on the executor's own goroutines, at most 16 per processor, which
// stay (with their grown stacks) until Shutdown, rather than on a new
// goroutine each time an idle actor gets a message.
//
// By default the breaker counts every attempt and each retry asks it
// again (Policy.BreakerCounts PerAttempt); PerJob counts one outcome per
// job, the original module's order.
//
// Every accepted job ends exactly once, with its value or one of the
// errors re-exported here from package messages: *TimeoutError,
// *CircuitOpenError, ErrRejected, *RetryError, *PanicError,
// ErrUnknownDependency, ErrShutdown, ErrDependencyDown, ErrInvalidJob, or
// the caller's own ctx.Err(). A retry that meets an open breaker ends
// with an error matching both ErrCircuitOpen and the last attempt's
// error. An Executor is safe for concurrent use.
//
// The executor reports through the OpenTelemetry API: metrics
// (WithMeterProvider; by default the global provider), one span per job
// (WithTracerProvider), logs (WithLogger) and events (WithEvents);
// Stats and Snapshot give the same counts, and Stats.Latency the jobs'
// durations. Package status serves them as a live page.
package executor
