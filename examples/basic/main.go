// Command basic shows a timeout and retries around a flaky call: the
// original module's timeout and retry decorators, as one Warden policy.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ex, err := executor.New(executor.WithDependency("users", executor.Policy{
		Timeout: 2 * time.Second, // the whole job, retries included
		Retry: retrier.Policy{
			MaxAttempts:  3,
			InitialDelay: 10 * time.Millisecond,
			Jitter:       retrier.NoJitter,
			RetryIf:      retrier.IsTransient, // timeouts and connection errors
		},
	}))
	if err != nil {
		return err
	}
	defer ex.Shutdown(context.Background())
	ctx := context.Background()

	// A call that is refused twice, then answers.
	calls := 0
	name, err := executor.Do(ctx, ex, "users", func(ctx context.Context) (string, error) {
		calls++
		if calls < 3 {
			return "", fmt.Errorf("dial users: %w", syscall.ECONNREFUSED)
		}
		return "ada", nil
	})
	fmt.Fprintf(out, "flaky call: %q, err=%v after %d attempts\n", name, err, calls)

	// A call that never answers: the job's budget ends it.
	_, err = executor.Do(ctx, ex, "users", func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})
	var te *executor.TimeoutError
	fmt.Fprintf(out, "hanging call: timeout=%v budget=%s\n", errors.As(err, &te), te.Duration)

	// A business error is not retried.
	calls = 0
	_, err = executor.Do(ctx, ex, "users", func(ctx context.Context) (string, error) {
		calls++
		return "", errors.New("user not found")
	})
	fmt.Fprintf(out, "business error: %v after %d attempt\n", err, calls)
	return nil
}
