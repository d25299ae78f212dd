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
// stripes. The lines are made at the first add, so a counter never
// written costs a pointer. The zero value is ready to use.
type striped struct {
	lines atomic.Pointer[[]stripe]
}

type stripe struct {
	n atomic.Uint64
	_ [56]byte
}

// add adds delta to the caller's stripe and returns that stripe's new
// count. A goroutine's stack may move, and its stripe with it, so only
// the sum of the stripes is exact.
func (c *striped) add(delta uint64) uint64 {
	p := c.lines.Load()
	if p == nil {
		p = c.make()
	}
	lines := *p
	var mark byte
	// The stack's address moves in steps of its size, 2 KiB or more: the
	// bits above a kilobyte tell goroutines apart, and a multiplicative
	// hash spreads them over the stripes.
	h := uint64(uintptr(unsafe.Pointer(&mark))>>10) * 0x9e3779b97f4a7c15
	return lines[h>>(64-bits.Len(uint(len(lines)-1)))&uint64(len(lines)-1)].n.Add(delta)
}

// make makes two stripes per processor, a power of two, unless another
// caller did first.
func (c *striped) make() *[]stripe {
	n := 1 << bits.Len(uint(2*runtime.GOMAXPROCS(0)-1))
	lines := make([]stripe, n)
	if c.lines.CompareAndSwap(nil, &lines) {
		return &lines
	}
	return c.lines.Load()
}

// load returns the sum of the stripes.
func (c *striped) load() uint64 {
	p := c.lines.Load()
	if p == nil {
		return 0
	}
	var sum uint64
	for i := range *p {
		sum += (*p)[i].n.Load()
	}
	return sum
}
