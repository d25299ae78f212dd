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

// Submit never blocks: it returns a Future to wait on later.
func ExampleExecutor_Submit() {
	ex, _ := executor.New(executor.WithDependency("payments", executor.ExternalAPIPolicy()))
	defer ex.Shutdown(context.Background())

	fut := ex.Submit(context.Background(), "payments", func(ctx context.Context) (any, error) {
		return "charged", nil
	})
	v, err := fut.Wait(context.Background())
	fmt.Println(v, err)

	_, err = ex.Submit(context.Background(), "unknown", func(ctx context.Context) (any, error) { return nil, nil }).Wait(context.Background())
	fmt.Println(errors.Is(err, executor.ErrUnknownDependency))
	// Output:
	// charged <nil>
	// true
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

// Stats reports each dependency's breaker state and counters.
func ExampleExecutor_Stats() {
	ex, _ := executor.New(executor.WithDependency("cache", executor.Policy{
		Retry:   retrier.Policy{MaxAttempts: 1},
		Breaker: breaker.Policy{FailureThreshold: 1},
	}))
	defer ex.Shutdown(context.Background())

	_, _ = executor.Do(context.Background(), ex, "cache", func(ctx context.Context) (int, error) { return 1, nil })
	_, _ = executor.Do(context.Background(), ex, "cache", func(ctx context.Context) (int, error) { return 0, errors.New("down") })
	for {
		if st, _ := ex.Stats("cache"); st.State == executor.Open {
			break
		}
		time.Sleep(time.Millisecond) // the breaker actor records the failure
	}
	st, _ := ex.Stats("cache")
	fmt.Printf("state=%s submitted=%d succeeded=%d failed=%d\n", st.State, st.Submitted, st.Succeeded, st.Failed)
	// Output: state=open submitted=2 succeeded=1 failed=1
}
