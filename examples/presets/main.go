// Command presets shows the original module's presets: the standard and
// network timeouts, the standard and aggressive retries, and the database
// and external API breakers, bundled as whole policies.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "presets:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	fmt.Fprintln(out, "timeouts: standard", executor.StandardTimeout, "network", executor.NetworkTimeout)
	for _, r := range []struct {
		name string
		p    retrier.Policy
	}{{"Standard", retrier.Standard()}, {"Aggressive", retrier.Aggressive()}} {
		fmt.Fprintf(out, "retrier.%s: %d attempts, %s doubling to %s\n", r.name, r.p.MaxAttempts, r.p.InitialDelay, r.p.MaxDelay)
	}
	db, api := breaker.Database(), breaker.ExternalAPI()
	fmt.Fprintf(out, "breaker.Database: %d failures, open %s\n", db.FailureThreshold, db.OpenTimeout)
	fmt.Fprintf(out, "breaker.ExternalAPI: %d failures, open %s\n", api.FailureThreshold, api.OpenTimeout)

	ex, err := executor.New(
		executor.WithDependency("postgres", executor.DatabasePolicy()),
		executor.WithDependency("payments", executor.ExternalAPIPolicy()),
	)
	if err != nil {
		return err
	}
	defer ex.Shutdown(context.Background())
	for _, dep := range []string{"postgres", "payments"} {
		v, err := executor.Do(context.Background(), ex, dep, func(context.Context) (string, error) { return "pong from " + dep, nil })
		fmt.Fprintln(out, v, err)
	}
	return nil
}
