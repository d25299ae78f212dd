package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// races tells a race Warden's code makes from one made within a library
// that Warden's code called.
func TestRaces(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "races.txt"))
	require.NoError(t, err)
	ours, theirs := races(string(data))
	assert.Equal(t, 1, theirs)
	require.Len(t, ours, 1)
	assert.Contains(t, ours[0], "cluster.(*Node).run")
}
