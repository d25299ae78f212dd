package executor

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStripedCountsEveryAdd(t *testing.T) {
	var c striped
	assert.Zero(t, c.load())
	const goroutines, adds = 16, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range adds {
				assert.Positive(t, c.add(1), "the new count of the stripe written")
			}
		})
	}
	wg.Wait()
	lines := *c.lines.Load()
	require.GreaterOrEqual(t, len(lines), 2*runtime.GOMAXPROCS(0))
	require.Zero(t, len(lines)&(len(lines)-1), "a power of two")
	assert.Equal(t, uint64(goroutines*adds), c.load())
	// A goroutine's stack may move between two adds, and its stripe
	// with it: only the sum is exact, even if a stripe wraps below zero.
	for range adds {
		c.add(^uint64(0))
	}
	assert.Equal(t, uint64((goroutines-1)*adds), c.load(), "adding the complement of 0 takes one away")
}
