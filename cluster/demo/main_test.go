package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain makes the test binary a demo node when the demo starts it as
// one, as the demo's own binary is.
func TestMain(m *testing.M) {
	if name := os.Getenv("WARDEN_DEMO_NODE"); name != "" {
		if err := runNode(name); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// The demo runs end to end: the three breakers open together and a
// single call, the probe, closes them.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and three processes")
	}
	var out bytes.Buffer
	probes, err := run(&out)
	require.NoError(t, err, out.String())
	assert.Equal(t, 1, probes, out.String())
	for _, s := range []string{"b: closed -> open (fleet breaker open)", "c: closed -> open (fleet breaker open)",
		"(fleet breaker probes here)", "all three closed again"} {
		assert.True(t, strings.Contains(out.String(), s), "%q in\n%s", s, out.String())
	}
}
