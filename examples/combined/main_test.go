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

const want = `slow first attempt: "3 results" err=<nil> after 2 attempts
always slow: 3 attempts, the last a network timeout (true) of 50ms
next call: circuit open=true
`
