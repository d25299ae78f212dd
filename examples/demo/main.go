// Command demo shows Warden's decision cores at work: the retry schedule of
// the Standard preset, and a Database breaker driven through a scripted
// run of outcomes, with every state change it makes.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	fmt.Println("Retry schedule of retrier.Standard() (jitter off, then full jitter):")
	p := retrier.Standard()
	p.MaxAttempts = 7
	for retry := 1; retry < p.MaxAttempts; retry++ {
		fmt.Printf("  before attempt %d: backoff %-5s full jitter with rnd=0.5: %s\n",
			retry+1, p.Backoff(retry), p.Delay(retry, 0, 0.5))
	}

	fmt.Println("\nbreaker.Database() under a scripted run of outcomes:")
	m, err := breaker.NewMachine(breaker.Database(), 1)
	if err != nil {
		return err
	}
	down := errors.New("connection refused")
	script := []struct {
		at  time.Duration
		err error
	}{
		{0, nil}, {time.Second, down}, {2 * time.Second, down}, {3 * time.Second, down},
		{10 * time.Second, nil}, {33 * time.Second, down}, {40 * time.Second, nil},
		{63 * time.Second, nil}, {64 * time.Second, nil},
	}
	for _, s := range script {
		now := t0.Add(s.at)
		d := m.Allow(now)
		show(s.at, d.Transition)
		if !d.Allowed {
			fmt.Printf("  t=%-4s rejected: circuit open, retry after %s\n", s.at, d.RetryAfter)
			continue
		}
		kind := "call"
		if d.Permit.Probe {
			kind = "probe"
		}
		result := "ok"
		if s.err != nil {
			result = s.err.Error()
		}
		fmt.Printf("  t=%-4s %s: %s\n", s.at, kind, result)
		show(s.at, m.Report(now, d.Permit, s.err, 0))
	}
	c := m.Snapshot(t0.Add(64 * time.Second)).Counts
	fmt.Printf("\ncounts: %d calls, %d successes, %d failures, %d rejected\n", c.Calls, c.Successes, c.Failures, c.Rejected)
	return nil
}

func show(at time.Duration, tr breaker.Transition) {
	if tr.Changed() {
		extra := ""
		if tr.OpenFor > 0 {
			extra = fmt.Sprintf(", open for %s", tr.OpenFor)
		}
		fmt.Printf("  t=%-4s breaker %s -> %s (%s%s)\n", at, tr.From, tr.To, tr.Reason, extra)
	}
}
