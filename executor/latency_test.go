package executor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Every duration falls in a bucket whose upper bound is above it by at
// most a quarter (below a microsecond: at most a microsecond), and
// buckets are in order.
func TestLatencyBuckets(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ns := rapid.Int64Range(0, 1<<latencyMaxExp-1).Draw(t, "ns")
		i := latencyBucket(ns)
		up := int64(latencyUpper(i))
		require.Greater(t, up, ns)
		if ns >= 1<<latencyMinExp {
			require.LessOrEqual(t, float64(up), 1.25*float64(ns)+1, "bucket %d", i)
		}
		if i > 0 {
			require.LessOrEqual(t, int64(latencyUpper(i-1)), ns, "bucket %d starts where %d ends", i, i-1)
		}
	})
	assert.Equal(t, latencyBuckets-1, latencyBucket(1<<62))
}

func TestLatencyQuantiles(t *testing.T) {
	var h latencies
	assert.Zero(t, h.read().Quantile(0.5), "empty")
	for range 90 {
		h.add(10 * time.Millisecond)
	}
	before := h.read()
	for range 10 {
		h.add(time.Second)
	}
	l := h.read()
	assert.Equal(t, uint64(100), l.Count())
	p50, p99 := l.Quantile(0.5), l.Quantile(0.99)
	assert.True(t, p50 > 10*time.Millisecond && p50 <= 12500*time.Microsecond, "p50 %v", p50)
	assert.True(t, p99 > time.Second && p99 <= 1250*time.Millisecond, "p99 %v", p99)
	recent := l.Sub(before)
	assert.Equal(t, uint64(10), recent.Count())
	assert.Equal(t, p99, recent.Quantile(0.5), "the second's alone")
}

// A dependency's Stats carry the durations of its jobs, timeouts
// included.
func TestStatsLatency(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p := fast()
		p.Timeout = time.Second
		ex := start(t, WithDependency("db", p))
		st, _ := ex.Stats("db")
		assert.Zero(t, st.Latency.Count(), "no call yet")
		for range 3 {
			_, err := Do(context.Background(), ex, "db", func(context.Context) (int, error) { time.Sleep(20 * time.Millisecond); return 1, nil })
			require.NoError(t, err)
		}
		_, err := Do(context.Background(), ex, "db", func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
		require.ErrorIs(t, err, ErrTimeout)
		st, _ = ex.Stats("db")
		assert.Equal(t, uint64(4), st.Latency.Count())
		assert.Equal(t, latencyUpper(latencyBucket(int64(20*time.Millisecond))), st.Latency.Quantile(0.5))
		assert.Equal(t, latencyUpper(latencyBucket(int64(time.Second))), st.Latency.Quantile(1))
	})
}
