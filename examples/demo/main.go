// Command demo runs Warden against a real HTTP server on 127.0.0.1 whose
// behaviour follows a script: healthy, then failing and slow for a few
// seconds, then recovered. Concurrent callers drive load through Warden
// the whole time; every second the demo prints each dependency's breaker
// state, counters and latency, and at the end a ledger proving that every
// job ended exactly once. While it runs it serves the executor's live
// status page on 127.0.0.1 and prints its address; at the end it writes a
// PNG of each dependency's breaker state and success rate over time.
//
//	go run ./examples/demo [-duration 15s] [-status 127.0.0.1:0] [-png warden-demo.png]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
	"github.com/warden-go/warden/status"
)

func main() {
	duration := flag.Duration("duration", 15*time.Second, "how long to drive load")
	statusAddr := flag.String("status", "127.0.0.1:0", "where to serve the status page (loopback only)")
	pngPath := flag.String("png", "warden-demo.png", "where to write the timeline image")
	flag.Parse()
	s := newScript(*duration)
	s.statusAddr, s.png = *statusAddr, *pngPath
	if err := run(context.Background(), os.Stdout, s); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// script says when the inventory service misbehaves; everything scales
// with the run's duration.
type script struct {
	duration          time.Duration
	failFrom, failTo  time.Duration
	tick              time.Duration
	openTimeout       time.Duration
	callers           int
	pause             time.Duration
	healthy, degraded time.Duration // service latency
	statusAddr        string        // the status page's address
	png               string        // the timeline image's path
}

func newScript(d time.Duration) script {
	return script{
		duration:    d,
		failFrom:    d * 4 / 15,
		failTo:      d * 9 / 15,
		tick:        max(d/15, 100*time.Millisecond),
		openTimeout: d * 2 / 15,
		callers:     32,
		pause:       10 * time.Millisecond,
		healthy:     3 * time.Millisecond,
		degraded:    d / 50,
		statusAddr:  "127.0.0.1:0",
	}
}

// service is the scripted HTTP server.
type service struct {
	start time.Time
	s     script
	calls atomic.Int64
}

func (sv *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := sv.calls.Add(1)
	since := time.Since(sv.start)
	failing := r.URL.Path == "/inventory" && since >= sv.s.failFrom && since < sv.s.failTo
	delay := sv.s.healthy
	if failing && n%3 != 0 {
		delay = sv.s.degraded // slow and failing
	}
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	if failing && n%5 != 0 {
		http.Error(w, "inventory database unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// window collects one interval's latencies for one dependency.
type window struct {
	mu  sync.Mutex
	lat []time.Duration
}

func (w *window) add(d time.Duration) {
	w.mu.Lock()
	w.lat = append(w.lat, d)
	w.mu.Unlock()
}

func (w *window) take() (p50, p99 time.Duration) {
	w.mu.Lock()
	lat := w.lat
	w.lat = nil
	w.mu.Unlock()
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)*50/100], lat[min(len(lat)*99/100, len(lat)-1)]
}

var errStatus = errors.New("unexpected status")

func run(ctx context.Context, out io.Writer, s script) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sv := &service{start: time.Now(), s: s}
	srv := &http.Server{Handler: sv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: s.callers}}
	defer client.CloseIdleConnections()

	inventory := executor.Policy{
		Timeout: s.openTimeout,
		// Well above the healthy latency even on a loaded machine: the
		// brownout's failures trip the breaker, not a slow scheduler.
		AttemptTimeout: 2 * s.degraded,
		TimeoutKind:    executor.KindNetwork,
		Retry:          retrier.Policy{MaxAttempts: 3, InitialDelay: s.tick / 20, MaxDelay: s.tick / 2, RetryIf: retryable},
		Breaker:        breaker.Policy{FailureThreshold: 5, OpenTimeout: s.openTimeout, HalfOpenProbes: 2},
		Pool:           executor.Pool{Workers: 16, Queue: 64},
	}
	payments := inventory
	payments.Breaker = breaker.ExternalAPI()

	var events []string
	var evMu sync.Mutex
	ex, err := executor.New(
		executor.WithDependency("inventory", inventory),
		executor.WithDependency("payments", payments),
		executor.WithEvents(func(e executor.Event) {
			if e.Kind == executor.EventStateChange {
				evMu.Lock()
				events = append(events, fmt.Sprintf("  >> t=%4.1fs %s breaker %s -> %s (%s)",
					e.At.Sub(sv.start).Seconds(), e.Dependency, e.From, e.To, e.Reason))
				evMu.Unlock()
			}
		}, 0),
	)
	if err != nil {
		return err
	}

	page, err := net.Listen("tcp", s.statusAddr)
	if err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(page.Addr().String()); !net.ParseIP(host).IsLoopback() {
		page.Close()
		return fmt.Errorf("the status page serves on loopback only, not %s", page.Addr())
	}
	mux := http.NewServeMux()
	mux.Handle("/warden/", http.StripPrefix("/warden", status.Handler(ex)))
	pageSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = pageSrv.Serve(page) }()
	defer pageSrv.Close()

	deps := []string{"inventory", "payments"}
	var tl timeline
	windows := map[string]*window{"inventory": {}, "payments": {}}
	var results atomic.Int64 // jobs that returned to their caller
	loadCtx, stopLoad := context.WithTimeout(ctx, s.duration)
	defer stopLoad()
	var wg sync.WaitGroup
	for c := range s.callers {
		dep := deps[c%len(deps)]
		wg.Go(func() {
			for loadCtx.Err() == nil {
				t0 := time.Now()
				_, err := executor.Do(context.Background(), ex, dep, func(ctx context.Context) (string, error) {
					return get(ctx, client, base+"/"+dep)
				})
				results.Add(1)
				if err == nil {
					windows[dep].add(time.Since(t0))
				}
				time.Sleep(s.pause)
			}
		})
	}

	fmt.Fprintf(out, "Warden demo: %d callers against %s for %s; inventory fails from t=%s to t=%s\n",
		s.callers, base, s.duration, s.failFrom, s.failTo)
	fmt.Fprintf(out, "Status page: http://%s/warden/\n\n", page.Addr())
	ticker := time.NewTicker(s.tick)
	prev := map[string]executor.Stats{}
	for loadCtx.Err() == nil {
		select {
		case <-ticker.C:
		case <-loadCtx.Done():
			continue
		}
		evMu.Lock()
		for _, e := range events {
			fmt.Fprintln(out, e)
		}
		events = events[:0]
		evMu.Unlock()
		for _, dep := range deps {
			st, _ := ex.Stats(dep)
			p := prev[dep]
			p50, p99 := windows[dep].take()
			fmt.Fprintf(out, "t=%4.1fs %-9s %-9s ok=%5d retries=%4d rejected=%4d short-circuited=%5d p50=%6s p99=%6s\n",
				time.Since(sv.start).Seconds(), dep, st.State, st.Succeeded-p.Succeeded, st.Retries-p.Retries,
				st.Rejected-p.Rejected, st.ShortCircuited-p.ShortCircuited,
				p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond))
			tl.add(dep, st, p)
			prev[dep] = st
		}
	}
	ticker.Stop()
	wg.Wait()
	if err := ex.Shutdown(ctx); err != nil {
		return err
	}
	if err := ledger(out, ex, deps, results.Load(), sv.calls.Load()); err != nil {
		return err
	}
	if s.png == "" {
		return nil
	}
	if err := tl.writePNG(s.png, deps); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nTimeline: %s (one band per dependency, top to bottom: %s; in each, the breaker's state per tick,\n"+
		"green closed, red open, amber half-open, then the tick's success rate, 0-100%%)\n", s.png, strings.Join(deps, ", "))
	return nil
}

// ledger prints every job's end and checks that each ended exactly once.
func ledger(out io.Writer, ex *executor.Executor, deps []string, returned, served int64) error {
	fmt.Fprintf(out, "\nLedger (%d HTTP requests reached the server):\n", served)
	var submitted, ended uint64
	for _, dep := range deps {
		st, err := ex.Stats(dep)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-9s submitted=%d succeeded=%d failed=%d timed-out=%d short-circuited=%d rejected=%d cancelled=%d panicked=%d attempts=%d retries=%d\n",
			dep, st.Submitted, st.Succeeded, st.Failed, st.TimedOut, st.ShortCircuited, st.Rejected, st.Cancelled, st.Panicked, st.Attempts, st.Retries)
		if st.Submitted != st.Ended() {
			return fmt.Errorf("%s: %d submitted but %d ended", dep, st.Submitted, st.Ended())
		}
		submitted += st.Submitted
		ended += st.Ended()
	}
	if uint64(returned) != submitted {
		return fmt.Errorf("%d jobs submitted but %d results returned", submitted, returned)
	}
	fmt.Fprintf(out, "  %d jobs submitted, %d ended, %d results returned to callers: every job ended exactly once\n", submitted, ended, returned)
	return nil
}

func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w %d: %s", errStatus, resp.StatusCode, body)
	}
	return string(body), nil
}

// retryable retries timeouts, connection errors and 503s.
func retryable(err error) bool {
	return errors.Is(err, errStatus) || retrier.IsTransient(err)
}
