package wardenhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func policy() executor.Policy {
	return executor.Policy{
		Timeout:        10 * time.Second,
		AttemptTimeout: 2 * time.Second,
		Retry:          retrier.Policy{MaxAttempts: 3, InitialDelay: 10 * time.Millisecond, Jitter: retrier.NoJitter},
		Breaker:        breaker.Policy{FailureThreshold: 100, OpenTimeout: time.Minute},
		Pool:           executor.Pool{Workers: 4, Queue: 16},
	}
}

// fixture is a loopback server whose handler answers request n (from 1)
// as script says, and a client through Warden to it.
type fixture struct {
	srv    *httptest.Server
	ex     *executor.Executor
	dep    *executor.Dependency
	client *http.Client
	base   *http.Transport
	n      atomic.Int32
	mu     sync.Mutex
	bodies []string // the request bodies the server read
}

func newFixture(t *testing.T, p executor.Policy, script func(n int, w http.ResponseWriter, r *http.Request)) *fixture {
	f := &fixture{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.n.Add(1))
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(body))
		f.mu.Unlock()
		script(n, w, r)
	}))
	ex, err := executor.New(executor.WithDependency("api", p), executor.WithMeterProvider(nil))
	require.NoError(t, err)
	f.ex = ex
	f.dep, err = ex.Dependency("api")
	require.NoError(t, err)
	f.base = &http.Transport{}
	f.client = Client(f.dep, f.base)
	t.Cleanup(func() {
		f.base.CloseIdleConnections()
		f.srv.Close()
		require.NoError(t, ex.Shutdown(context.Background()))
	})
	return f
}

func (f *fixture) stats() executor.Stats { return f.dep.Stats() }

func read(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// A 503 storm is retried until the server recovers.
func TestRetriesA503Storm(t *testing.T) {
	f := newFixture(t, policy(), func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	resp, err := f.client.Get(f.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", read(t, resp))
	assert.Equal(t, int32(3), f.n.Load())
	st := f.stats()
	assert.Equal(t, uint64(3), st.Attempts)
	assert.Equal(t, uint64(1), st.Succeeded)
}

// When the storm outlasts the retries, the error holds the last status
// and the start of its body.
func TestExhaustedRetriesGiveTheStatus(t *testing.T) {
	f := newFixture(t, policy(), func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "still overloaded", http.StatusServiceUnavailable)
	})
	resp, err := f.client.Get(f.srv.URL)
	require.Error(t, err)
	assert.Nil(t, resp)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
	assert.Equal(t, "still overloaded\n", string(se.Body))
	assert.ErrorIs(t, err, executor.ErrRetriesExhausted)
	assert.Equal(t, int32(3), f.n.Load())
}

// Responses that are not retried come back as responses: a 404 as a
// success of the dependency, a 500 as its failure.
func TestFinalResponsesAreResponses(t *testing.T) {
	for _, tc := range []struct {
		code           int
		succ, failures uint64
	}{{http.StatusNotFound, 1, 0}, {http.StatusInternalServerError, 0, 1}, {http.StatusCreated, 1, 0}} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			f := newFixture(t, policy(), func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.code)
				_, _ = io.WriteString(w, "body")
			})
			resp, err := f.client.Get(f.srv.URL)
			require.NoError(t, err)
			assert.Equal(t, tc.code, resp.StatusCode)
			assert.Equal(t, "body", read(t, resp))
			assert.Equal(t, int32(1), f.n.Load(), "not retried")
			st := f.stats()
			assert.Equal(t, tc.succ, st.Succeeded)
			assert.Equal(t, tc.failures, st.Failed)
		})
	}
}

// A POST is retried only when its body can be had again, and the body
// is sent in full on every attempt.
func TestBodiesAreReplayedOnlyWhenTheyCanBe(t *testing.T) {
	storm := func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
	t.Run("GetBody", func(t *testing.T) {
		f := newFixture(t, policy(), storm)
		resp, err := f.client.Post(f.srv.URL, "text/plain", bytes.NewReader([]byte("payload")))
		require.NoError(t, err)
		assert.Equal(t, "ok", read(t, resp))
		assert.Equal(t, []string{"payload", "payload"}, f.bodies)
	})
	t.Run("no GetBody", func(t *testing.T) {
		f := newFixture(t, policy(), storm)
		req, err := http.NewRequest(http.MethodPost, f.srv.URL, io.NopCloser(strings.NewReader("payload")))
		require.NoError(t, err)
		require.Nil(t, req.GetBody)
		resp, err := f.client.Do(req)
		require.NoError(t, err, "the 503 is the answer")
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Equal(t, "busy\n", read(t, resp))
		assert.Equal(t, []string{"payload"}, f.bodies, "sent once")
	})
}

// Retry-After in seconds sets the retry's delay.
func TestRetryAfterIsHonoured(t *testing.T) {
	var first time.Time
	var gap time.Duration
	f := newFixture(t, policy(), func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "later", http.StatusTooManyRequests)
			return
		}
		gap = time.Since(first)
		_, _ = io.WriteString(w, "ok")
	})
	resp, err := f.client.Get(f.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "ok", read(t, resp))
	assert.GreaterOrEqual(t, gap, time.Second, "waited as asked, not the policy's 10 ms")
}

// A Retry-After past the job's deadline is not waited for: the request
// ends at once with the status.
func TestRetryAfterPastTheDeadline(t *testing.T) {
	p := policy()
	p.Timeout = 2 * time.Second
	f := newFixture(t, p, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	t0 := time.Now()
	_, err := f.client.Get(f.srv.URL)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, time.Hour, se.RetryAfter)
	assert.Less(t, time.Since(t0), time.Second, "no wait for a retry that cannot happen")
	assert.Equal(t, int32(1), f.n.Load())
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"Thu, 03 Dec 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Thu, 03 Dec 2026 11:00:00 GMT", 0, true},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		assert.Equal(t, tc.ok, ok, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

// A connection the server resets is a transport error: retried.
func TestResetConnectionIsRetried(t *testing.T) {
	f := newFixture(t, policy(), func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close() // no response at all
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	resp, err := f.client.Get(f.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "ok", read(t, resp))
	assert.Equal(t, int32(2), f.n.Load())
}

// A slow body is read by the caller after the attempt ended: its
// context does not end the body.
func TestSlowBodyOutlivesTheAttempt(t *testing.T) {
	f := newFixture(t, policy(), func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		for i := range 3 {
			_, _ = io.WriteString(w, strings.Repeat("x", i+1))
			http.NewResponseController(w).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	resp, err := f.client.Get(f.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "xxxxxx", read(t, resp))
}

// A server that ignores the client's cancellation does not hold the
// caller: each attempt ends at its timeout, and so does the request.
func TestServerIgnoringCancellation(t *testing.T) {
	release := make(chan struct{})
	p := policy()
	p.AttemptTimeout = 200 * time.Millisecond
	p.Retry.MaxAttempts = 2
	f := newFixture(t, p, func(_ int, w http.ResponseWriter, _ *http.Request) {
		select {
		case <-release:
		case <-time.After(30 * time.Second):
		}
	})
	defer close(release) // before the server closes: its handlers end
	t0 := time.Now()
	_, err := f.client.Get(f.srv.URL)
	require.ErrorIs(t, err, executor.ErrTimeout)
	assert.Less(t, time.Since(t0), 10*time.Second, "two 200 ms attempts, far from the server's 30 s")
	assert.Equal(t, uint64(2), f.stats().Attempts)
}

// The caller's context ends the request.
func TestCallerCancels(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, policy(), func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL, nil)
	require.NoError(t, err)
	_, err = f.client.Do(req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, uint64(1), f.stats().Cancelled)
}

// PerHost gives each host its own dependency, registered at its first
// request.
func TestPerHost(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer ok.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "other") }))
	defer other.Close()
	ex, err := executor.New(executor.WithMeterProvider(nil))
	require.NoError(t, err)
	defer func() { require.NoError(t, ex.Shutdown(context.Background())) }()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := Client(nil, base, PerHost(ex, policy()))
	for _, srv := range []*httptest.Server{ok, other, ok} {
		resp, err := client.Get(srv.URL)
		require.NoError(t, err)
		read(t, resp)
	}
	for host, n := range map[string]uint64{strings.TrimPrefix(ok.URL, "http://"): 2, strings.TrimPrefix(other.URL, "http://"): 1} {
		st, err := ex.Stats(host)
		require.NoError(t, err)
		assert.Equal(t, n, st.Succeeded, host)
	}
}

// A request for no dependency fails at once and closes its body.
func TestNilDependency(t *testing.T) {
	body := &closeSpy{Reader: strings.NewReader("x")}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", body)
	require.NoError(t, err)
	_, err = NewTransport(nil, nil).RoundTrip(req)
	assert.True(t, errors.Is(err, executor.ErrInvalidJob))
	assert.True(t, body.closed)
}

type closeSpy struct {
	io.Reader
	closed bool
}

func (c *closeSpy) Close() error { c.closed = true; return nil }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A response that comes after its attempt timed out (from a transport
// that ignores the request's context) is closed, not leaked.
func TestLateResponseIsClosed(t *testing.T) {
	body := &closeSpy{Reader: strings.NewReader("late")}
	closed := make(chan struct{})
	late := roundTripFunc(func(*http.Request) (*http.Response, error) {
		time.Sleep(300 * time.Millisecond) // past the attempt's 100 ms, ignoring its context
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: &notify{closeSpy: body, closed: closed}}, nil
	})
	p := policy()
	p.AttemptTimeout, p.Retry.MaxAttempts = 100*time.Millisecond, 1
	ex, err := executor.New(executor.WithDependency("api", p), executor.WithMeterProvider(nil))
	require.NoError(t, err)
	dep, err := ex.Dependency("api")
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	require.NoError(t, err)
	_, err = NewTransport(dep, late).RoundTrip(req)
	require.ErrorIs(t, err, executor.ErrTimeout)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the late response's body was never closed")
	}
	require.NoError(t, ex.Shutdown(context.Background()))
}

type notify struct {
	*closeSpy
	closed chan struct{}
	once   sync.Once
}

func (n *notify) Close() error {
	n.once.Do(func() { close(n.closed) })
	return n.closeSpy.Close()
}

// A policy that selects its errors, such as retrier.Standard's, retries
// statuses once its RetryIf is Retryable.
func TestRetryableWithAStandardPolicy(t *testing.T) {
	storm := func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
	p := policy()
	p.Retry = retrier.Standard()
	p.Retry.InitialDelay, p.Retry.Jitter = 10*time.Millisecond, retrier.NoJitter
	f := newFixture(t, p, storm)
	_, err := f.client.Get(f.srv.URL)
	require.Error(t, err, "IsTransient alone does not take a 503")
	assert.Equal(t, int32(1), f.n.Load())

	p.Retry.RetryIf = Retryable
	g := newFixture(t, p, storm)
	resp, err := g.client.Get(g.srv.URL)
	require.NoError(t, err)
	assert.Equal(t, "ok", read(t, resp))
	assert.Equal(t, int32(3), g.n.Load())
	assert.True(t, Retryable(&StatusError{StatusCode: 503}))
	assert.False(t, Retryable(errors.New("other")))
}
