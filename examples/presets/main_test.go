package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOutput(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	assert.Equal(t, want, out.String())
}

const want = `timeouts: standard 30s network 10s
retrier.Standard: 3 attempts, 1s doubling to 1m0s
retrier.Aggressive: 5 attempts, 1s doubling to 1m0s
breaker.Database: 3 failures, open 30s
breaker.ExternalAPI: 5 failures, open 1m0s
pong from postgres <nil>
pong from payments <nil>
`
