package bench

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
	"github.com/warden-go/warden/wardenhttp"
)

// exchanged is what a client made of one scripted exchange.
type exchanged struct {
	status   int // of the response the caller got; 0 for none
	err      bool
	requests int32 // the server saw
	waited   time.Duration
}

// script answers request n (from 1).
type script func(n int32, w http.ResponseWriter)

func exchange(t *testing.T, s script, client func(base http.RoundTripper) *http.Client) exchanged {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { s(n.Add(1), w) }))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	t0 := time.Now()
	resp, err := client(base).Get(srv.URL)
	r := exchanged{err: err != nil, waited: time.Since(t0)}
	if resp != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r.status = resp.StatusCode
	}
	var se *wardenhttp.StatusError
	if errors.As(err, &se) {
		r.status = se.StatusCode // Warden's error for a retried status that ran out of retries
	}
	r.requests = n.Load()
	return r
}

// wardenClient and failsafeClient retry alike: 3 attempts, 10 ms apart,
// and both honour Retry-After.
func wardenClient(t *testing.T) func(http.RoundTripper) *http.Client {
	ex, err := executor.New(executor.WithMeterProvider(nil), executor.WithDependency("api", executor.Policy{
		Timeout: 10 * time.Second,
		Retry:   retrier.Policy{MaxAttempts: 3, InitialDelay: 10 * time.Millisecond, Multiplier: 1, Jitter: retrier.NoJitter},
		Breaker: breaker.Policy{FailureThreshold: 1000},
	}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ex.Shutdown(context.Background())) })
	dep, err := ex.Dependency("api")
	require.NoError(t, err)
	return func(base http.RoundTripper) *http.Client { return wardenhttp.Client(dep, base) }
}

func failsafeClient(base http.RoundTripper) *http.Client {
	rp := failsafehttp.NewRetryPolicyBuilder().WithMaxRetries(2).WithDelay(10 * time.Millisecond).Build()
	return &http.Client{Transport: failsafehttp.NewRoundTripper(base, rp)}
}

// Warden's transport and failsafehttp's, against the same scripted
// servers, agree where their documented policies agree, and differ
// only where they say they do: failsafehttp retries a 500, Warden
// returns it (Warden retries 408, 429, 502, 503 and 504 only); when the
// retries run out, both end in an error, Warden's with the last status.
func TestTransportAgainstFailsafeHTTP(t *testing.T) {
	ok := func(w http.ResponseWriter) { _, _ = io.WriteString(w, "ok") }
	for _, tc := range []struct {
		name             string
		s                script
		warden, failsafe exchanged // what each should make of it (waited: at least)
	}{
		{"503 storm, then well", func(n int32, w http.ResponseWriter) {
			if n <= 2 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			ok(w)
		}, exchanged{status: 200, requests: 3}, exchanged{status: 200, requests: 3}},
		{"429 with Retry-After", func(n int32, w http.ResponseWriter) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
			ok(w)
		}, exchanged{status: 200, requests: 2, waited: time.Second}, exchanged{status: 200, requests: 2, waited: time.Second}},
		{"404", func(_ int32, w http.ResponseWriter) { http.NotFound(w, nil) },
			exchanged{status: 404, requests: 1}, exchanged{status: 404, requests: 1}},
		{"503 for ever", func(_ int32, w http.ResponseWriter) { http.Error(w, "down", http.StatusServiceUnavailable) },
			exchanged{status: 503, err: true, requests: 3}, exchanged{err: true, requests: 3}},
		{"500", func(_ int32, w http.ResponseWriter) { http.Error(w, "bug", http.StatusInternalServerError) },
			exchanged{status: 500, requests: 1}, exchanged{err: true, requests: 3}},
		{"connection reset, then well", func(n int32, w http.ResponseWriter) {
			if n == 1 {
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			ok(w)
		}, exchanged{status: 200, requests: 2}, exchanged{status: 200, requests: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := exchange(t, tc.s, wardenClient(t))
			f := exchange(t, tc.s, failsafeClient)
			t.Logf("warden: %+v; failsafehttp: %+v", w, f)
			for _, c := range []struct {
				who       string
				got, want exchanged
			}{{"warden", w, tc.warden}, {"failsafehttp", f, tc.failsafe}} {
				assert.Equal(t, c.want.status, c.got.status, c.who)
				assert.Equal(t, c.want.requests, c.got.requests, c.who)
				assert.Equal(t, c.want.err, c.got.err, c.who)
				assert.GreaterOrEqual(t, c.got.waited, c.want.waited, c.who)
			}
		})
	}
}
