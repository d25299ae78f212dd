package browsertest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/warden-go/warden/actors/breaker"
	"github.com/warden-go/warden/actors/retrier"
	"github.com/warden-go/warden/executor"
	"github.com/warden-go/warden/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// chromium is the browser to drive: WARDEN_CHROMIUM, or Debian's.
func chromium(t *testing.T) string {
	path := os.Getenv("WARDEN_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("no Chromium at %s (install Debian's chromium package, or set WARDEN_CHROMIUM): %v", path, err)
	}
	return path
}

// row is one dependency's row of the page, as the browser shows it.
type row struct {
	Dependency string `json:"dependency"`
	State      string `json:"state"`
	Badge      string `json:"badge"`
	Color      string `json:"color"`
}

// The status page, loaded in headless Chromium, shows each dependency
// and its breaker's state, coloured, and updates over server-sent
// events; the test saves a screenshot (to WARDEN_SCREENSHOT, if set).
func TestStatusPageInChromium(t *testing.T) {
	browser := chromium(t)
	pol := executor.Policy{
		Timeout: 5 * time.Second,
		Retry:   retrier.Policy{MaxAttempts: 1},
		Breaker: breaker.Policy{FailureThreshold: 2, OpenTimeout: time.Hour},
		Pool:    executor.Pool{Workers: 2, Queue: 16},
	}
	ex, err := executor.New(executor.WithDependency("postgres", pol), executor.WithDependency("payments", pol),
		executor.WithDependency("search", pol))
	require.NoError(t, err)
	defer func() { require.NoError(t, ex.Shutdown(context.Background())) }()
	ctx := context.Background()
	for range 20 {
		_, err := executor.Do(ctx, ex, "postgres", func(context.Context) (int, error) { time.Sleep(2 * time.Millisecond); return 1, nil })
		require.NoError(t, err)
	}
	for range 2 {
		_, err := executor.Do(ctx, ex, "payments", func(context.Context) (int, error) { return 0, errors.New("503") })
		require.Error(t, err)
	}
	_, err = ex.ControlBreaker(ctx, "search", executor.DisableBreaker)
	require.NoError(t, err)
	require.Eventually(t, func() bool { st, _ := ex.Stats("payments"); return st.State == executor.Open },
		10*time.Second, 10*time.Millisecond)

	mux := http.NewServeMux()
	mux.Handle("/warden/", http.StripPrefix("/warden", status.Handler(ex)))
	srv := httptest.NewServer(mux) // on 127.0.0.1
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 400),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	tctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	// While the page is open, calls go on: the next updates show them.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				_, _ = executor.Do(ctx, ex, "postgres", func(context.Context) (int, error) { time.Sleep(time.Millisecond); return 1, nil })
				_, _ = executor.Do(ctx, ex, "payments", func(context.Context) (int, error) { return 1, nil })
			}
		}
	}()

	require.NoError(t, chromedp.Do(tctx,
		chromedp.Navigate(srv.URL+"/warden/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-updates="3"]`)), // three SSE updates
	))
	rows, err := chromedp.Run(tctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll("#deps tr")].map(tr => ({
		dependency: tr.dataset.dependency,
		state: tr.dataset.state,
		badge: tr.querySelector(".state").textContent,
		color: getComputedStyle(tr.querySelector(".state")).backgroundColor,
	}))`))
	require.NoError(t, err)
	okRate, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`#deps tr[data-dependency="postgres"] td:nth-child(3)`)))
	require.NoError(t, err)
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)

	assert.Equal(t, []row{
		{"payments", "open", "open", "rgb(214, 69, 69)"},
		{"postgres", "closed", "closed", "rgb(46, 158, 91)"},
		{"search", "disabled", "disabled", "rgb(125, 134, 144)"},
	}, rows)
	assert.NotEqual(t, "0.0", strings.TrimSpace(okRate), "the stream brought postgres's calls")
	require.NotEmpty(t, png)
	out := os.Getenv("WARDEN_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "status.png")
	}
	require.NoError(t, os.WriteFile(out, png, 0o644))
	t.Logf("screenshot: %s (%d bytes)", out, len(png))
}
