// Command breaker shows a circuit breaker protecting a failing dependency:
// after three failures it stops calling, fails fast with a typed error,
// and after its open period lets a probe through.
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
		fmt.Fprintln(os.Stderr, "breaker:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ex, err := executor.New(executor.WithDependency("postgres", executor.Policy{
		Retry:   retrier.Policy{MaxAttempts: 1},
		Breaker: breaker.Policy{FailureThreshold: 3, OpenTimeout: 200 * time.Millisecond},
	}))
	if err != nil {
		return err
	}
	defer ex.Shutdown(context.Background())
	ctx := context.Background()
	down := errors.New("connection refused")
	calls := 0
	query := func(ctx context.Context) (int, error) {
		calls++
		if calls <= 3 {
			return 0, down
		}
		return 42, nil
	}
	for i := 1; i <= 5; i++ {
		_, err := executor.Do(ctx, ex, "postgres", query)
		var open *executor.CircuitOpenError
		if errors.As(err, &open) {
			fmt.Fprintf(out, "call %d: failed fast, circuit open after %d failures\n", i, open.FailureCount)
		} else {
			fmt.Fprintf(out, "call %d: %v\n", i, err)
		}
		waitFor(ex, i == 3) // let the breaker actor see the third failure
	}
	fmt.Fprintf(out, "the dependency was called %d times for 5 calls\n", calls)

	time.Sleep(200 * time.Millisecond) // the open period
	v, err := executor.Do(ctx, ex, "postgres", query)
	st, _ := ex.Stats("postgres")
	fmt.Fprintf(out, "after the open period: probe returned %d, err=%v, breaker %s\n", v, err, waitClosed(ex))
	fmt.Fprintf(out, "short-circuited=%d failed=%d succeeded=%d\n", st.ShortCircuited, st.Failed, st.Succeeded)
	return nil
}

// waitFor waits, when asked, until the breaker has opened.
func waitFor(ex *executor.Executor, open bool) {
	for open {
		if st, _ := ex.Stats("postgres"); st.State == executor.Open {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func waitClosed(ex *executor.Executor) executor.State {
	for range 1000 {
		if st, _ := ex.Stats("postgres"); st.State == executor.Closed {
			return st.State
		}
		time.Sleep(time.Millisecond)
	}
	st, _ := ex.Stats("postgres")
	return st.State
}
