package breaker_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/warden-go/warden/actors/breaker"
)

// A Database breaker opens after three consecutive failures, rejects for
// 30 seconds, then lets one probe through; the probe's success closes it.
func ExampleMachine() {
	m, err := breaker.NewMachine(breaker.Database(), 1)
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failure := errors.New("connection refused")

	for i := range 3 {
		d := m.Allow(t0)
		if tr := m.Report(t0, d.Permit, failure, 0); tr.Changed() {
			fmt.Printf("failure %d: %s -> %s (%s), open for %s\n", i+1, tr.From, tr.To, tr.Reason, tr.OpenFor)
		}
	}
	d := m.Allow(t0.Add(10 * time.Second))
	fmt.Printf("after 10s: allowed=%v, retry after %s\n", d.Allowed, d.RetryAfter)

	d = m.Allow(t0.Add(30 * time.Second))
	fmt.Printf("after 30s: allowed=%v probe=%v, %s -> %s\n", d.Allowed, d.Permit.Probe, d.Transition.From, d.Transition.To)
	tr := m.Report(t0.Add(31*time.Second), d.Permit, nil, time.Second)
	fmt.Printf("probe succeeded: %s -> %s\n", tr.From, tr.To)
	// Output:
	// failure 3: closed -> open (consecutive failures), open for 30s
	// after 10s: allowed=false, retry after 20s
	// after 30s: allowed=true probe=true, open -> half-open
	// probe succeeded: half-open -> closed
}

// A failure-rate breaker over a count-based window trips once half of the
// last ten calls failed, counting only after four calls.
func ExamplePolicy_failureRate() {
	m, _ := breaker.NewMachine(breaker.Policy{FailureRateThreshold: 0.5, WindowSize: 10, MinimumCalls: 4}, 1)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, err := range []error{nil, errors.New("x"), nil, errors.New("x")} {
		d := m.Allow(t0)
		tr := m.Report(t0, d.Permit, err, 0)
		s := m.Snapshot(t0)
		fmt.Printf("call %d: rate %.2f over %d calls, state %s (%s)\n", i+1, s.FailureRate, s.WindowCalls, s.State, tr.Reason)
	}
	// Output:
	// call 1: rate 0.00 over 1 calls, state closed ()
	// call 2: rate 0.50 over 2 calls, state closed ()
	// call 3: rate 0.33 over 3 calls, state closed ()
	// call 4: rate 0.00 over 0 calls, state open (failure rate)
}

// The presets carry the original module's numbers.
func ExampleDatabase() {
	db, api := breaker.Database(), breaker.ExternalAPI()
	fmt.Println("database:", db.FailureThreshold, "failures,", db.OpenTimeout)
	fmt.Println("external API:", api.FailureThreshold, "failures,", api.OpenTimeout)
	// Output:
	// database: 3 failures, 30s
	// external API: 5 failures, 1m0s
}
