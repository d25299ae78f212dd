// Command prometheus exports Warden's metrics to Prometheus: it installs
// the OpenTelemetry SDK with the OpenTelemetry Prometheus exporter on a
// registry of its own (never the global one), runs a few calls, and
// serves /metrics on 127.0.0.1 until interrupted.
//
//	go run ./examples/prometheus [-addr 127.0.0.1:9464]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9464", "where to serve /metrics (loopback)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, func(url string) { fmt.Println("Metrics: " + url) }); err != nil {
		fmt.Fprintln(os.Stderr, "prometheus:", err)
		os.Exit(1)
	}
}

// setup builds an executor whose metrics go to a registry of its own, and
// the handler that serves that registry.
func setup() (*executor.Executor, http.Handler, func(context.Context) error, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	payments := executor.ExternalAPIPolicy()
	payments.Retry = retrier.Policy{MaxAttempts: 1} // so that its failures trip the breaker at once
	ex, err := executor.New(
		executor.WithMeterProvider(mp),
		executor.WithDependency("postgres", executor.DatabasePolicy()),
		executor.WithDependency("payments", payments),
	)
	if err != nil {
		return nil, nil, nil, errors.Join(err, mp.Shutdown(context.Background()))
	}
	shutdown := func(ctx context.Context) error { return errors.Join(ex.Shutdown(ctx), mp.Shutdown(ctx)) }
	return ex, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), shutdown, nil
}

// traffic runs a few calls: successes, and failures that open the
// payments breaker.
func traffic(ctx context.Context, ex *executor.Executor) {
	for range 20 {
		_, _ = executor.Do(ctx, ex, "postgres", func(context.Context) (int, error) { time.Sleep(time.Millisecond); return 1, nil })
	}
	for range 10 {
		_, _ = executor.Do(ctx, ex, "payments", func(context.Context) (int, error) { return 0, errors.New("503") })
	}
}

func run(ctx context.Context, addr string, ready func(url string)) error {
	ex, metrics, shutdown, err := setup()
	if err != nil {
		return err
	}
	defer func() { _ = shutdown(context.Background()) }()
	traffic(ctx, ex)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	ready("http://" + ln.Addr().String() + "/metrics")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
