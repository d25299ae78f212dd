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

const want = `call 1: connection refused
call 2: connection refused
call 3: connection refused
call 4: failed fast, circuit open after 3 failures
call 5: failed fast, circuit open after 3 failures
the dependency was called 3 times for 5 calls
after the open period: probe returned 42, err=<nil>, breaker closed
short-circuited=2 failed=3 succeeded=1
`
