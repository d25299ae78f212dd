package executor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

// Do runs a job against a registered dependency and returns its typed
// result.
func ExampleDo() {
	ex, err := executor.New(executor.WithDependency("postgres", executor.DatabasePolicy()))
	if err != nil {
		panic(err)
	}
	defer ex.Shutdown(context.Background())

	n, err := executor.Do(context.Background(), ex, "postgres", func(ctx context.Context) (int, error) {
		return 42, nil // a query that honours ctx
	})
	fmt.Println(n, err)
	// Output: 42 <nil>
}

// A handle skips the lookup by name on every call; Wrap makes a
// protected function of a plain one, named after it in timeouts.
func ExampleCall() {
	ex, _ := executor.New(executor.WithDependency("postgres", executor.DatabasePolicy()))
	defer ex.Shutdown(context.Background())

	pg, err := ex.Dependency("postgres")
	if err != nil {
		panic(err)
	}
	row, err := executor.Call(context.Background(), pg, func(ctx context.Context) (string, error) {
		return "row 1", nil
	})
	fmt.Println(row, err)

	count := executor.Wrap(pg, func(ctx context.Context) (int, error) { return 7, nil })
	n, err := count(context.Background())
	fmt.Println(n, err)
	// Output:
	// row 1 <nil>
	// 7 <nil>
}

// Submit never blocks: it returns a Future to wait on later. An error
// known at once completes the Future immediately.
func ExampleSubmit() {
	ex, _ := executor.New(executor.WithDependency("payments", executor.ExternalAPIPolicy()))
	defer ex.Shutdown(context.Background())

	fut := executor.Submit(context.Background(), ex, "payments", func(ctx context.Context) (string, error) {
		return "charged", nil
	})
	v, err := fut.Wait(context.Background())
	fmt.Println(v, err)

	unknown := executor.Submit(context.Background(), ex, "unknown", func(ctx context.Context) (string, error) { return "", nil })
	_, done, err := unknown.Result()
	fmt.Println(done, errors.Is(err, executor.ErrUnknownDependency))
	// Output:
	// charged <nil>
	// true true
}

// Errors are typed: match them with errors.Is and read them with errors.As.
func ExampleRetryError() {
	ex, _ := executor.New(executor.WithDependency("flaky", executor.Policy{
		Retry: retrier.Policy{MaxAttempts: 3, InitialDelay: time.Millisecond},
	}))
	defer ex.Shutdown(context.Background())

	_, err := executor.Do(context.Background(), ex, "flaky", func(ctx context.Context) (int, error) {
		return 0, errors.New("connection reset")
	})
	var re *executor.RetryError
	if errors.As(err, &re) {
		fmt.Println("attempts:", re.Attempts, "last:", re.Last)
	}
	fmt.Println(errors.Is(err, executor.ErrRetriesExhausted))
	// Output:
	// attempts: 3 last: connection reset
	// true
}

// Stats counts each dependency's jobs by how they ended; events say when
// its breaker changes state.
func ExampleExecutor_Stats() {
	changes := make(chan executor.Event, 1)
	ex, _ := executor.New(
		executor.WithDependency("cache", executor.Policy{
			Retry:   retrier.Policy{MaxAttempts: 1},
			Breaker: breaker.Policy{FailureThreshold: 1},
		}),
		executor.WithEvents(func(e executor.Event) {
			if e.Kind == executor.EventStateChange {
				changes <- e
			}
		}, 0),
	)
	defer ex.Shutdown(context.Background())

	_, _ = executor.Do(context.Background(), ex, "cache", func(ctx context.Context) (int, error) { return 1, nil })
	_, _ = executor.Do(context.Background(), ex, "cache", func(ctx context.Context) (int, error) { return 0, errors.New("down") })
	e := <-changes
	fmt.Printf("%s: %s -> %s (%s)\n", e.Dependency, e.From, e.To, e.Reason)
	st, _ := ex.Stats("cache")
	fmt.Printf("submitted=%d succeeded=%d failed=%d\n", st.Submitted, st.Succeeded, st.Failed)
	// Output:
	// cache: closed -> open (consecutive failures)
	// submitted=2 succeeded=1 failed=1
}
