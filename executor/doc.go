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
// Per dependency, a breaker actor alone owns the breaker's state machine
// and publishes an immutable view that callers read without a message; a
// retrier actor holds one timer per pending retry; a fixed set of worker
// actors runs the jobs; a supervisor actor restarts any of them that
// crashes and, past its restart limit, marks the dependency down. Jobs
// never travel inside actor messages: they wait in the dependency's own
// queue and lists, so a crashed actor loses none.
//
// Every accepted job ends exactly once, with its value or one of the
// errors re-exported here from package messages: *TimeoutError,
// *CircuitOpenError, ErrRejected, *RetryError, *PanicError,
// ErrUnknownDependency, ErrShutdown, ErrDependencyDown, ErrInvalidJob, or
// the caller's own ctx.Err(). An Executor is safe for concurrent use.
package executor
