package retrier_test

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/warden-go/warden/actors/retrier"
)

// The Standard preset without jitter doubles from one second up to its
// 60-second cap, as the original module did.
func ExamplePolicy_Backoff() {
	p := retrier.Standard()
	for retry := 1; retry <= 8; retry++ {
		fmt.Print(p.Backoff(retry), " ")
	}
	fmt.Println()
	// Output:
	// 1s 2s 4s 8s 16s 32s 1m0s 1m0s
}

// Next decides each step from the attempt number, the error, the clock and
// the deadline; here a refused connection is retried twice, then the
// attempts are used up.
func ExamplePolicy_Next() {
	p := retrier.Standard()
	p.Jitter = retrier.NoJitter
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	deadline := now.Add(30 * time.Second)
	for attempt := 1; ; attempt++ {
		step := p.Next(attempt, syscall.ECONNREFUSED, 0, now, deadline, 0)
		if !step.Retry() {
			fmt.Printf("attempt %d failed: stop (%s)\n", attempt, step.Stop)
			break
		}
		fmt.Printf("attempt %d failed: retry in %s\n", attempt, step.Delay)
		now = step.At
	}
	fmt.Println("business error:", p.Next(1, errors.New("no such user"), 0, now, deadline, 0).Stop)
	fmt.Println("permanent:", p.Next(1, retrier.Permanent(syscall.ECONNREFUSED), 0, now, deadline, 0).Stop)
	// Output:
	// attempt 1 failed: retry in 1s
	// attempt 2 failed: retry in 2s
	// attempt 3 failed: stop (exhausted)
	// business error: not retryable
	// permanent: permanent
}

// Full jitter, the default, draws each delay from [0, backoff]; the random
// number is an input, so a schedule is reproducible.
func ExamplePolicy_Delay() {
	p := retrier.Policy{InitialDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for _, rnd := range []float64{0, 0.25, 0.5, 0.999} {
		fmt.Print(p.Delay(3, 0, rnd).Round(time.Millisecond), " ")
	}
	fmt.Println()
	// Output:
	// 0s 100ms 200ms 400ms
}
