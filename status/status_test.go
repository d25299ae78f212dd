package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

func policy() executor.Policy {
	return executor.Policy{
		Timeout: 10 * time.Second,
		Retry:   retrier.Policy{MaxAttempts: 1},
		Breaker: breaker.Policy{FailureThreshold: 2, OpenTimeout: time.Hour},
		Pool:    executor.Pool{Workers: 2, Queue: 8},
	}
}

func newExecutor(t *testing.T) *executor.Executor {
	ex, err := executor.New(executor.WithDependency("db", policy()), executor.WithDependency("api", policy()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ex.Shutdown(context.Background())) })
	return ex
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

func getReport(t *testing.T, h http.Handler) Report {
	t.Helper()
	w := get(t, h, "/warden/status.json")
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var rep Report
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rep))
	return rep
}

func byName(rep Report) map[string]Dependency {
	m := map[string]Dependency{}
	for _, d := range rep.Dependencies {
		m[d.Name] = d
	}
	return m
}

func sleepy(d time.Duration) func(context.Context) (int, error) {
	return func(context.Context) (int, error) { time.Sleep(d); return 1, nil }
}

func fail(context.Context) (int, error) { return 0, errBoom }

// status.json reports each dependency's state, rates, percentiles,
// sparkline and gauges from what happened since the page began to be
// watched.
func TestReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := newExecutor(t)
		h := Handler(ex)
		first := getReport(t, h)
		require.Len(t, first.Dependencies, 2)
		assert.Equal(t, Window.Seconds(), first.WindowSecs)
		for _, d := range first.Dependencies {
			assert.Equal(t, "closed", d.State)
			assert.Zero(t, d.SucceededPerSec)
			assert.Empty(t, d.Sparkline)
		}

		for range 10 { // 100 ms in all
			_, err := executor.Do(context.Background(), ex, "db", sleepy(10*time.Millisecond))
			require.NoError(t, err)
		}
		for range 2 {
			_, err := executor.Do(context.Background(), ex, "api", fail)
			require.ErrorIs(t, err, errBoom)
		}
		synctest.Wait()
		for range 4 {
			_, err := executor.Do(context.Background(), ex, "api", sleepy(0))
			require.ErrorIs(t, err, executor.ErrCircuitOpen)
		}
		time.Sleep(900 * time.Millisecond) // one second since the first report
		second := byName(getReport(t, h))
		db, api := second["db"], second["api"]
		assert.Equal(t, "closed", db.State)
		assert.InDelta(t, 10, db.SucceededPerSec, 1e-9)
		assert.Zero(t, db.FailedPerSec)
		// The upper bound of the histogram bucket that holds 10 ms:
		// [4/4, 5/4) of 2^23 ns.
		want := float64(5<<21) / float64(time.Millisecond)
		assert.InDelta(t, want, db.P50Millis, 1e-9)
		assert.InDelta(t, want, db.P99Millis, 1e-9)
		require.Len(t, db.Sparkline, 1)
		require.NotNil(t, db.Sparkline[0])
		assert.InDelta(t, want, *db.Sparkline[0], 1e-9)
		assert.Equal(t, "open", api.State)
		assert.InDelta(t, 2, api.FailedPerSec, 1e-9)
		assert.InDelta(t, 4, api.ShortCircuitedPerSec, 1e-9)

		time.Sleep(2 * time.Second) // two quiet seconds
		third := byName(getReport(t, h))["db"]
		require.Len(t, third.Sparkline, 2, "one value per sampled second")
		assert.NotNil(t, third.Sparkline[0])
		assert.Nil(t, third.Sparkline[1], "no job ended in that second")
		assert.InDelta(t, 10.0/3, third.SucceededPerSec, 1e-9, "the window so far is three seconds")
	})
}

// The page shows every dependency with its state, and works for GET only.
func TestPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := newExecutor(t)
		h := Handler(ex)
		w := get(t, h, "/warden/")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
		page := w.Body.String()
		for _, dep := range []string{"api", "db"} {
			assert.Contains(t, page, `data-dependency="`+dep+`" data-state="closed"`)
		}
		assert.Contains(t, page, `new EventSource("events")`)

		post := httptest.NewRecorder()
		h.ServeHTTP(post, httptest.NewRequest(http.MethodPost, "/warden/", nil))
		assert.Equal(t, http.StatusMethodNotAllowed, post.Code)
	})
}

// sseWriter is a ResponseWriter that keeps what a stream wrote.
type sseWriter struct {
	mu     sync.Mutex
	header http.Header
	buf    bytes.Buffer
	events int
}

func (w *sseWriter) Header() http.Header { return w.header }
func (w *sseWriter) WriteHeader(int)     {}
func (w *sseWriter) Flush()              {}

func (w *sseWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events += strings.Count(string(p), "data: ")
	return w.buf.Write(p)
}

func (w *sseWriter) reports(t *testing.T) []Report {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Report
	for _, line := range strings.Split(w.buf.String(), "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var rep Report
			require.NoError(t, json.Unmarshal([]byte(data), &rep))
			out = append(out, rep)
		}
	}
	return out
}

// Many clients stream at once, each getting an update a second from one
// shared sampling; when the executor shuts down they get a last update
// that says so, and their streams end.
func TestEventsStreamUntilShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex, err := executor.New(executor.WithDependency("db", policy()))
		require.NoError(t, err)
		h := Handler(ex)
		const clients = 5
		writers := make([]*sseWriter, clients)
		var wg sync.WaitGroup
		for i := range writers {
			writers[i] = &sseWriter{header: http.Header{}}
			wg.Go(func() { h.ServeHTTP(writers[i], httptest.NewRequest(http.MethodGet, "/warden/events", nil)) })
		}
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		for _, w := range writers {
			assert.Equal(t, 3, w.events, "at 0, 1 and 2 s")
			assert.Equal(t, "text/event-stream", w.header.Get("Content-Type"))
		}
		require.NoError(t, ex.Shutdown(context.Background()))
		wg.Wait() // every stream ended
		for _, w := range writers {
			reps := w.reports(t)
			require.Len(t, reps, 4)
			assert.False(t, reps[2].ShutDown)
			assert.True(t, reps[3].ShutDown)
		}
		assert.True(t, getReport(t, h).ShutDown, "status.json after shutdown")
	})
}

// A client that goes away ends its stream.
func TestEventsEndWithTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := newExecutor(t)
		h := Handler(ex)
		ctx, cancel := context.WithCancel(context.Background())
		w := &sseWriter{header: http.Header{}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/events", nil).WithContext(ctx))
		}()
		time.Sleep(1500 * time.Millisecond)
		cancel()
		<-done
		assert.Equal(t, 2, w.events)
	})
}
