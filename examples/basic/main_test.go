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

const want = `flaky call: "ada", err=<nil> after 3 attempts
hanging call: timeout=true budget=2s
business error: user not found after 1 attempt
`
