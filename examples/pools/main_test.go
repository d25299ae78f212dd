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

const want = `reports, fifth job: rejected=true at once=true
checkout meanwhile: 100 of 100 served
reports job: report <nil>
reports job: report <nil>
reports job: report <nil>
reports job: report <nil>
reports: submitted=5 succeeded=4 rejected=1
`
