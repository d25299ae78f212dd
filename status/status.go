// Package status serves a live status page for an executor: per
// dependency, the breaker's state, the rates of successes, failures and
// short circuits, p50 and p99 latency with a one-minute sparkline, and
// the pool's gauges, updated once a second over server-sent events. It
// uses the standard library alone.
//
// Mount it under a path of its own, with a trailing slash:
//
//	http.Handle("/warden/", http.StripPrefix("/warden", status.Handler(ex)))
//
// The page's history is built while it is watched: rates and
// percentiles cover the last minute of sampling, once a second.
package status

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/warden-go/warden/executor"
)

// Window is the span of time the rates and percentiles cover.
const Window = time.Minute

// period is how often the page samples the executor and pushes an
// update; anchors is the spacing of the samples kept for the window.
const (
	period  = time.Second
	anchors = 10 * time.Second
)

//go:embed page.html
var files embed.FS

var pageTmpl = template.Must(template.ParseFS(files, "page.html"))

// Handler returns the status page of ex: a GET of its root serves the
// page, of "status.json" the page's data as JSON, and of "events" a
// stream of the same data, once a second, as server-sent events. The
// stream ends once the executor is shut down, after saying so. Any
// number of clients may watch at once; they share one sampling of the
// executor per second.
func Handler(ex *executor.Executor) http.Handler {
	return &handler{ex: ex, deps: map[string]*history{}}
}

type handler struct {
	ex   *executor.Executor
	mu   sync.Mutex
	last time.Time // of the latest sample
	now  Report    // the report of the latest sample
	deps map[string]*history
}

// Report is what the page shows, and what status.json holds.
type Report struct {
	At           time.Time    `json:"at"`
	ShutDown     bool         `json:"shut_down"`
	WindowSecs   float64      `json:"window_seconds"`
	Dependencies []Dependency `json:"dependencies"`
}

// Dependency is one dependency's line of the report. Rates are per
// second, and they and the percentiles cover the last Window of
// sampling (less while the page has been watched for less).
type Dependency struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Down  bool   `json:"down"`

	SucceededPerSec      float64 `json:"succeeded_per_s"`
	FailedPerSec         float64 `json:"failed_per_s"`
	ShortCircuitedPerSec float64 `json:"short_circuited_per_s"`
	RejectedPerSec       float64 `json:"rejected_per_s"`

	P50Millis float64 `json:"p50_ms"`
	P99Millis float64 `json:"p99_ms"`
	// Sparkline is the p99 latency of each second of the window, in
	// milliseconds, oldest first; a second without an ended job is null.
	Sparkline []*float64 `json:"p99_ms_per_s"`

	InFlight  int64  `json:"in_flight"`
	Queued    int    `json:"queued"`
	Restarts  uint64 `json:"restarts"`
	Abandoned int64  `json:"abandoned"`
}

// history is what the page keeps of one dependency.
type history struct {
	prev    executor.Stats // the previous second's
	anchors []anchor       // one per anchors, the oldest at least Window old once there are enough
	spark   []*float64
}

type anchor struct {
	at time.Time
	st executor.Stats
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch path.Base(r.URL.Path) {
	case "status.json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(h.report())
	case "events":
		h.stream(w, r)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := pageTmpl.Execute(w, h.report()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
}

// stream sends the report once a second until the client goes or the
// executor has shut down.
func (h *handler) stream(w http.ResponseWriter, r *http.Request) {
	flush := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	tick := time.NewTicker(period)
	defer tick.Stop()
	if _, err := fmt.Fprint(w, "retry: 5000\n\n"); err != nil {
		return
	}
	for {
		rep := h.report()
		data, err := json.Marshal(rep)
		if err != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return
		}
		if err := flush.Flush(); err != nil {
			return
		}
		if rep.ShutDown {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// report returns the latest report, sampling the executor first if the
// latest sample is a period old.
func (h *handler) report() Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if !h.last.IsZero() && now.Sub(h.last) < period*9/10 {
		return h.now
	}
	h.last = now
	rep := Report{At: now, ShutDown: h.ex.ShuttingDown(), WindowSecs: Window.Seconds()}
	seen := map[string]bool{}
	for _, st := range h.ex.Snapshot() {
		seen[st.Dependency] = true
		rep.Dependencies = append(rep.Dependencies, h.line(now, st))
	}
	for name := range h.deps {
		if !seen[name] {
			delete(h.deps, name)
		}
	}
	h.now = rep
	return rep
}

// line updates the history of st's dependency and returns its line.
func (h *handler) line(now time.Time, st executor.Stats) Dependency {
	hist := h.deps[st.Dependency]
	if hist == nil {
		hist = &history{prev: st, anchors: []anchor{{now, st}}}
		h.deps[st.Dependency] = hist
	}
	// This second's p99, for the sparkline.
	var p99 *float64
	if sec := st.Latency.Sub(hist.prev.Latency); sec.Count() > 0 {
		v := millis(sec.Quantile(0.99))
		p99 = &v
	}
	if now != hist.anchors[0].at {
		hist.spark = append(hist.spark, p99)
		if n := int(Window / period); len(hist.spark) > n {
			hist.spark = hist.spark[len(hist.spark)-n:]
		}
	}
	hist.prev = st
	if now.Sub(hist.anchors[len(hist.anchors)-1].at) >= anchors {
		hist.anchors = append(hist.anchors, anchor{now, st})
	}
	for len(hist.anchors) > 1 && now.Sub(hist.anchors[1].at) >= Window {
		hist.anchors = hist.anchors[1:]
	}

	base := hist.anchors[0]
	secs := now.Sub(base.at).Seconds()
	rate := func(n, m uint64) float64 {
		if secs <= 0 || n < m {
			return 0
		}
		return float64(n-m) / secs
	}
	lat := st.Latency.Sub(base.st.Latency)
	return Dependency{
		Name:                 st.Dependency,
		State:                st.State.String(),
		Down:                 st.Down,
		SucceededPerSec:      rate(st.Succeeded, base.st.Succeeded),
		FailedPerSec:         rate(st.Failed+st.TimedOut+st.Panicked, base.st.Failed+base.st.TimedOut+base.st.Panicked),
		ShortCircuitedPerSec: rate(st.ShortCircuited, base.st.ShortCircuited),
		RejectedPerSec:       rate(st.Rejected, base.st.Rejected),
		P50Millis:            millis(lat.Quantile(0.5)),
		P99Millis:            millis(lat.Quantile(0.99)),
		Sparkline:            append([]*float64(nil), hist.spark...),
		InFlight:             st.InFlight,
		Queued:               st.Queued,
		Restarts:             st.Restarts,
		Abandoned:            st.AbandonedWorkers,
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
