package bench

import (
	"syscall"
	"time"
)

// spinIters is the loop count of about 1 us of CPU work, fixed by a
// one-off calibration so that every peer does the same work.
var spinIters = calibrate()

var sink uint64

// spin does fixed CPU work: n rounds of a multiply-add.
func spin(n int) uint64 {
	x := uint64(n)
	for i := range n {
		x = x*6364136223846793005 + uint64(i)
	}
	return x
}

func calibrate() int {
	const n = 1 << 20
	start := time.Now()
	sink += spin(n)
	per := time.Since(start) / n
	if per <= 0 {
		return 1000
	}
	return int(time.Microsecond / per)
}

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
