// Command pools shows per-dependency pools as bulkheads: a dependency that
// hangs fills its own pool and sheds its own load at once, while another
// dependency keeps answering.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pools:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	small := executor.Policy{Retry: retrier.Policy{MaxAttempts: 1}, Pool: executor.Pool{Workers: 2, Queue: 2}}
	ex, err := executor.New(
		executor.WithDependency("reports", small),
		executor.WithDependency("checkout", small),
	)
	if err != nil {
		return err
	}
	defer ex.Shutdown(context.Background())
	ctx := context.Background()

	hang := make(chan struct{})
	var held []*executor.Future[string]
	for range 4 { // two running, two queued: the pool is full
		held = append(held, executor.Submit(ctx, ex, "reports", func(context.Context) (string, error) { <-hang; return "report", nil }))
	}
	start := time.Now()
	_, err = executor.Do(ctx, ex, "reports", func(context.Context) (string, error) { return "", nil })
	fmt.Fprintf(out, "reports, fifth job: rejected=%v at once=%v\n", errors.Is(err, executor.ErrRejected), time.Since(start) < time.Second)

	served := 0
	for range 100 {
		if _, err := executor.Do(ctx, ex, "checkout", func(context.Context) (string, error) { return "paid", nil }); err == nil {
			served++
		}
	}
	fmt.Fprintf(out, "checkout meanwhile: %d of 100 served\n", served)

	close(hang)
	for _, f := range held {
		v, err := f.Wait(ctx)
		fmt.Fprintln(out, "reports job:", v, err)
	}
	st, _ := ex.Stats("reports")
	fmt.Fprintf(out, "reports: submitted=%d succeeded=%d rejected=%d\n", st.Submitted, st.Succeeded, st.Rejected)
	return nil
}
