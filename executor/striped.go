package executor

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// striped is a counter spread over cache lines, for a path that many
// goroutines write at once and that must not make them wait on one line:
// a goroutine picks its stripe by the address of its stack, so goroutines
// running side by side most often write different lines. Reads sum the
// stripes.
type striped struct {
	lines []stripe
	shift uint // 64 - log2(len(lines))
}

type stripe struct {
	n atomic.Uint64
	_ [56]byte
}

// init makes two stripes per processor, a power of two.
func (c *striped) init() {
	n := 2 * runtime.GOMAXPROCS(0)
	log := bits.Len(uint(n - 1))
	c.lines = make([]stripe, 1<<log)
	c.shift = uint(64 - log)
}

// add adds delta to the caller's stripe and returns that stripe's new
// count. A goroutine's stack may move, and its stripe with it, so only
// the sum of the stripes is exact.
func (c *striped) add(delta uint64) uint64 {
	var mark byte
	// The stack's address moves in steps of its size, 2 KiB or more: the
	// bits above a kilobyte tell goroutines apart, and a multiplicative
	// hash spreads them over the stripes.
	h := uint64(uintptr(unsafe.Pointer(&mark))>>10) * 0x9e3779b97f4a7c15
	return c.lines[h>>c.shift&uint64(len(c.lines)-1)].n.Add(delta)
}

// load returns the sum of the stripes.
func (c *striped) load() uint64 {
	var sum uint64
	for i := range c.lines {
		sum += c.lines[i].n.Load()
	}
	return sum
}
