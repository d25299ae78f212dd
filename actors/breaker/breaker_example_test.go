package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/messages"
)

// A Database breaker around queries opens after three consecutive
// failures and turns calls away for 30 seconds; then one probe goes
// through, and its success closes the breaker. The clock is set by hand
// so the output does not depend on real time.
func ExampleBreaker_Execute() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := breaker.New("postgres", breaker.Database(),
		breaker.WithClock(func() time.Time { return now }),
		breaker.WithOnTransition(func(t breaker.Transition) {
			fmt.Printf("%s -> %s (%s)\n", t.From, t.To, t.Reason)
		}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	query := func(context.Context) error { return errors.New("connection refused") }

	for range 3 {
		fmt.Println(b.Execute(ctx, query))
	}
	now = now.Add(10 * time.Second)
	err = b.Execute(ctx, query)
	var open *messages.CircuitOpenError
	if errors.As(err, &open) {
		fmt.Printf("rejected after %d failures, retry after %s\n", open.FailureCount, open.RetryAfter().Round(time.Second))
	}
	now = now.Add(20 * time.Second)
	fmt.Println(b.Execute(ctx, func(context.Context) error { return nil }), b.State())
	// Output:
	// connection refused
	// connection refused
	// closed -> open (consecutive failures)
	// connection refused
	// rejected after 3 failures, retry after 20s
	// open -> half-open (open period over)
	// half-open -> closed (probes succeeded)
	// <nil> closed
}

// Allow and Done split a call in two, for code that cannot pass a
// function: ask for a permit, make the call, report how it went.
func ExampleBreaker_Allow() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := breaker.New("postgres", breaker.Database(), breaker.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	for i := range 4 {
		permit, err := b.Allow()
		if err != nil {
			fmt.Printf("call %d: %v\n", i+1, err)
			continue
		}
		start := now
		err = errors.New("connection refused") // the call itself
		b.Done(permit, err, now.Sub(start))
		fmt.Printf("call %d: %v, breaker %s\n", i+1, err, b.State())
	}
	// Output:
	// call 1: connection refused, breaker closed
	// call 2: connection refused, breaker closed
	// call 3: connection refused, breaker open
	// call 4: warden: circuit open for "postgres", retry after 30s
}

// Run passes a function's value through the breaker.
func ExampleRun() {
	b, err := breaker.New("postgres", breaker.Database())
	if err != nil {
		panic(err)
	}
	n, err := breaker.Run(context.Background(), b, func(context.Context) (int, error) {
		return 42, nil // such as a row count
	})
	fmt.Println(n, err)
	// Output:
	// 42 <nil>
}
