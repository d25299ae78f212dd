// Command combined shows a breaker, retries and a per-attempt timeout
// together: each slow attempt is cut off and retried, the job as a whole
// keeps its budget, and the breaker counts each timed-out attempt.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "combined:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ex, err := executor.New(executor.WithDependency("search", executor.Policy{
		Timeout:        time.Second,
		AttemptTimeout: 50 * time.Millisecond,
		TimeoutKind:    executor.KindNetwork,
		Retry:          retrier.Policy{MaxAttempts: 3, InitialDelay: 10 * time.Millisecond, Jitter: retrier.NoJitter},
		Breaker:        breaker.Policy{FailureThreshold: 3, OpenTimeout: time.Minute},
	}))
	if err != nil {
		return err
	}
	defer ex.Shutdown(context.Background())
	ctx := context.Background()

	attempt := 0
	v, err := executor.Do(ctx, ex, "search", func(ctx context.Context) (string, error) {
		attempt++
		if attempt == 1 { // the first attempt is too slow
			<-ctx.Done()
			return "", ctx.Err()
		}
		return "3 results", nil
	})
	fmt.Fprintf(out, "slow first attempt: %q err=%v after %d attempts\n", v, err, attempt)

	_, err = executor.Do(ctx, ex, "search", func(ctx context.Context) (string, error) {
		<-ctx.Done() // every attempt is too slow
		return "", ctx.Err()
	})
	var re *executor.RetryError
	var te *executor.TimeoutError
	if !errors.As(err, &re) || !errors.As(err, &te) {
		return fmt.Errorf("unexpected error %v", err)
	}
	fmt.Fprintf(out, "always slow: %d attempts, the last a network timeout (%v) of %s\n",
		re.Attempts, errors.Is(err, executor.ErrNetworkTimeout), te.Duration)

	for range 100 {
		if st, _ := ex.Stats("search"); st.State == executor.Open {
			break
		}
		time.Sleep(time.Millisecond)
	}
	_, err = executor.Do(ctx, ex, "search", func(context.Context) (string, error) { return "never runs", nil })
	fmt.Fprintf(out, "next call: circuit open=%v\n", errors.Is(err, executor.ErrCircuitOpen))
	return nil
}
