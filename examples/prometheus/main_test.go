package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// /metrics, scraped over loopback, carries every Warden instrument under
// its Prometheus name, and promlint finds nothing wrong with them.
func TestScrape(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", func(url string) { urls <- url }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("the server never started")
	}
	resp, err := http.Get(url)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)

	text := string(body)
	for _, want := range []string{
		`warden_calls_total{dependency="postgres",otel_scope_name="github.com/warden-go/warden/executor",otel_scope_schema_url="",otel_scope_version="",outcome="succeeded"} 20`,
		`warden_call_duration_seconds_bucket{dependency="postgres"`,
		`warden_call_duration_seconds_count{dependency="payments"`,
		`warden_attempts_total{`,
		`warden_retries_total{`,
		`warden_circuitbreaker_state{dependency="payments"`,
		`warden_circuitbreaker_transitions_total{dependency="payments",from="closed"`,
		`warden_pool_in_flight{`,
		`warden_pool_queued{`,
		`warden_pool_workers{`,
		`warden_pool_abandoned{`,
		`warden_supervisor_restarts_total{actor="worker"`,
	} {
		assert.Contains(t, text, want)
	}
	// The breaker opens as the actor hears of the fifth failure: a call
	// or two may still run before then. All ten are counted, failed or
	// short-circuited.
	count := func(outcome string) int {
		m := regexp.MustCompile(`warden_calls_total\{dependency="payments",[^}]*outcome="` + outcome + `"\} (\d+)`).FindStringSubmatch(text)
		require.NotNil(t, m, outcome)
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		return n
	}
	failed, short := count("failed"), count("short_circuited")
	assert.GreaterOrEqual(t, failed, 5)
	assert.Equal(t, 10, failed+short)
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	require.NoError(t, err)
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "warden_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}
