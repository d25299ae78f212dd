package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo runs for real over loopback, at 6 seconds so that each phase
// lasts long enough to be robust on a loaded machine: two seconds of
// brownout, then over two seconds of health with a probe every 0.8 s.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time demo")
	}
	var out bytes.Buffer
	sc := newScript(6 * time.Second)
	sc.png = filepath.Join(t.TempDir(), "demo.png")
	require.NoError(t, run(context.Background(), &out, sc))
	s := out.String()
	assert.Regexp(t, `Status page: http://127\.0\.0\.1:\d+/warden/`, s)
	f, err := os.Open(sc.png)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Greater(t, img.Bounds().Dx(), 100, "a band per tick")
	assert.Contains(t, s, "inventory breaker closed -> open")
	assert.Contains(t, s, "inventory breaker half-open -> closed")
	assert.NotContains(t, s, "payments breaker", "the healthy dependency's breaker never moved")
	assert.Contains(t, s, "every job ended exactly once")
	t.Log("\n" + s)
}
