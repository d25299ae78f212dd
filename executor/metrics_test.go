package executor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/actors/supervisor"
)

// points flattens what a reader collected into one value per series,
// keyed name{k=v,...} with the attributes sorted; a histogram gives
// name_count{...} and name_sum{...}.
func points(t *testing.T, r sdkmetric.Reader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]float64{}
	key := func(name string, set attribute.Set) string {
		var kv []string
		for _, a := range set.ToSlice() {
			kv = append(kv, fmt.Sprintf("%s=%s", a.Key, a.Value.Emit()))
		}
		slices.Sort(kv)
		return name + "{" + strings.Join(kv, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, meterName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				require.True(t, data.IsMonotonic, m.Name)
				require.Equal(t, metricdata.CumulativeTemporality, data.Temporality, m.Name)
				for _, p := range data.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range data.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				require.Equal(t, "s", m.Unit)
				for _, p := range data.DataPoints {
					out[key(m.Name+"_count", p.Attributes)] = float64(p.Count)
					out[key(m.Name+"_sum", p.Attributes)] = p.Sum
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// A scripted run (successes, a timeout, failures that trip the breaker,
// a short circuit, a probe that closes it, a retry, a panic, a
// cancellation, a full pool and a worker's crash) shows in every
// instrument with the values Stats gives.
func TestMetricsReadEveryInstrument(t *testing.T) {
	bubble(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
		var crash atomic.Int32
		hook := func(s Site, dep string) {
			if s == SiteWorker && dep == "api" && crash.Add(-1) >= 0 {
				panic("injected worker crash")
			}
		}
		db := Policy{
			Timeout: time.Second,
			Retry:   retrier.Policy{MaxAttempts: 1},
			Breaker: breaker.Policy{FailureThreshold: 3, OpenTimeout: time.Minute, HalfOpenProbes: 1},
			Pool:    Pool{Workers: 2, Queue: 4},
		}
		api := fast()
		api.Pool = Pool{Workers: 1, Queue: 1}
		ex := start(t, WithMeterProvider(mp), WithDependency("db", db), WithDependency("api", api), WithFaultHook(hook))
		ctx := context.Background()

		for range 3 {
			_, err := Do(ctx, ex, "db", ok(1))
			require.NoError(t, err)
		}
		_, err := Do(ctx, ex, "db", func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
		require.ErrorIs(t, err, ErrTimeout)
		for range 2 {
			_, err = Do(ctx, ex, "db", fail)
			require.ErrorIs(t, err, errBoom)
		}
		synctest.Wait()
		_, err = Do(ctx, ex, "db", ok(1))
		require.ErrorIs(t, err, ErrCircuitOpen, "the timeout and two failures tripped it")
		time.Sleep(time.Minute)
		_, err = Do(ctx, ex, "db", ok(1))
		require.NoError(t, err, "the probe")
		synctest.Wait()

		tries := 0
		_, err = Do(ctx, ex, "api", func(context.Context) (int, error) {
			if tries++; tries == 1 {
				return 0, errBoom
			}
			return 2, nil
		})
		require.NoError(t, err)
		_, err = Do(ctx, ex, "api", func(context.Context) (int, error) { panic("bug") })
		require.ErrorIs(t, err, ErrPanic)
		cctx, cancel := context.WithCancel(ctx)
		hold := make(chan struct{})
		running := Submit(cctx, ex, "api", func(ctx context.Context) (int, error) { <-hold; return 0, nil })
		synctest.Wait()
		queued := Submit(ctx, ex, "api", ok(3))
		_, err = Do(ctx, ex, "api", ok(4))
		require.ErrorIs(t, err, ErrRejected, "one worker, one queue slot")
		cancel()
		_, err = running.Wait(ctx)
		require.ErrorIs(t, err, context.Canceled)
		crash.Store(1) // the worker crashes as it goes back to the queue
		close(hold)
		v, err := queued.Wait(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, v)
		time.Sleep(time.Second) // the restart delay
		synctest.Wait()

		got := points(t, reader)
		want := map[string]float64{
			"warden.calls{dependency=db,outcome=succeeded}":       4,
			"warden.calls{dependency=db,outcome=timed_out}":       1,
			"warden.calls{dependency=db,outcome=failed}":          2,
			"warden.calls{dependency=db,outcome=short_circuited}": 1,
			"warden.calls{dependency=api,outcome=succeeded}":      2,
			"warden.calls{dependency=api,outcome=panicked}":       1,
			"warden.calls{dependency=api,outcome=cancelled}":      1,
			"warden.calls{dependency=api,outcome=rejected}":       1,

			"warden.call.duration_count{dependency=db,outcome=succeeded}":  4,
			"warden.call.duration_sum{dependency=db,outcome=succeeded}":    0,
			"warden.call.duration_count{dependency=db,outcome=timed_out}":  1,
			"warden.call.duration_sum{dependency=db,outcome=timed_out}":    1,
			"warden.call.duration_count{dependency=db,outcome=failed}":     2,
			"warden.call.duration_count{dependency=api,outcome=succeeded}": 2,
			// The first waited 100 ms for its retry; the queued one for
			// the crashed worker's replacement.
			"warden.call.duration_sum{dependency=api,outcome=succeeded}":   0.1 + supervisor.DefaultInitialBackoff.Seconds(),
			"warden.call.duration_count{dependency=api,outcome=panicked}":  1,
			"warden.call.duration_count{dependency=api,outcome=cancelled}": 1,

			"warden.attempts{dependency=db}":  7,
			"warden.attempts{dependency=api}": 5,
			"warden.retries{dependency=db}":   0,
			"warden.retries{dependency=api}":  1,

			"warden.circuitbreaker.state{dependency=db,state=closed}":      1,
			"warden.circuitbreaker.state{dependency=db,state=open}":        0,
			"warden.circuitbreaker.state{dependency=db,state=half-open}":   0,
			"warden.circuitbreaker.state{dependency=db,state=forced-open}": 0,
			"warden.circuitbreaker.state{dependency=db,state=disabled}":    0,
			"warden.circuitbreaker.state{dependency=api,state=closed}":     1,

			"warden.circuitbreaker.transitions{dependency=db,from=closed,to=open}":      1,
			"warden.circuitbreaker.transitions{dependency=db,from=open,to=half-open}":   1,
			"warden.circuitbreaker.transitions{dependency=db,from=half-open,to=closed}": 1,

			"warden.supervisor.restarts{actor=worker,dependency=api}":  1,
			"warden.supervisor.restarts{actor=breaker,dependency=api}": 0,
			"warden.supervisor.restarts{actor=retrier,dependency=api}": 0,
			"warden.supervisor.restarts{actor=worker,dependency=db}":   0,

			"warden.pool.in_flight{dependency=db}":  0,
			"warden.pool.queued{dependency=api}":    0,
			"warden.pool.workers{dependency=db}":    2,
			"warden.pool.workers{dependency=api}":   1,
			"warden.pool.abandoned{dependency=api}": 0,
		}
		for k, w := range want {
			v, ok := got[k]
			if assert.True(t, ok, "no series %s", k) {
				assert.InDelta(t, w, v, 1e-9, k)
			}
		}
		for k, v := range got {
			if strings.HasPrefix(k, "warden.calls{") || strings.HasPrefix(k, "warden.circuitbreaker.transitions{") {
				if _, listed := want[k]; !listed {
					assert.Zero(t, v, "%s: not in the script", k)
				}
			}
		}
		st, _ := ex.Stats("api")
		assert.Equal(t, uint64(1), st.Restarts)
		assert.Equal(t, uint64(5), st.Submitted)
	})
}

// Once the executor is shut down its callback is gone: a collection
// reports nothing of it and does not block.
func TestMetricsStopAtShutdown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
		ex, err := New(WithMeterProvider(mp), WithDependency("db", fast()))
		require.NoError(t, err)
		_, err = Do(context.Background(), ex, "db", ok(1))
		require.NoError(t, err)
		assert.Equal(t, float64(1), points(t, reader)["warden.calls{dependency=db,outcome=succeeded}"])
		stop(t, ex)
		for k := range points(t, reader) {
			assert.True(t, strings.HasPrefix(k, "warden.call.duration"), "%s observed after shutdown", k)
		}
	})
}

// Metrics can be turned off, or sent to a no-op provider.
func TestMetricsOff(t *testing.T) {
	for _, mp := range []struct {
		name string
		opt  Option
	}{{"nil", WithMeterProvider(nil)}, {"noop", WithMeterProvider(noop.NewMeterProvider())}} {
		t.Run(mp.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ex := start(t, mp.opt, WithDependency("db", fast()))
				if mp.name == "nil" {
					assert.Nil(t, ex.meters)
				}
				v, err := Do(context.Background(), ex, "db", ok(5))
				require.NoError(t, err)
				assert.Equal(t, 5, v)
			})
		})
	}
}

// A view that drops the duration histogram turns it off: the executor
// neither reads the clock for it nor records it; the counts stay.
func TestMetricsDurationDroppedByAView(t *testing.T) {
	bubble(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		drop := sdkmetric.NewView(sdkmetric.Instrument{Name: "warden.call.duration"}, sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithView(drop))
		defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
		ex := start(t, WithMeterProvider(mp), WithDependency("db", fast()))
		assert.False(t, ex.meters.durationOn(context.Background()))
		_, err := Do(context.Background(), ex, "db", ok(1))
		require.NoError(t, err)
		got := points(t, reader)
		assert.Equal(t, float64(1), got["warden.calls{dependency=db,outcome=succeeded}"])
		for k := range got {
			assert.False(t, strings.HasPrefix(k, "warden.call.duration"), k)
		}
	})
}
