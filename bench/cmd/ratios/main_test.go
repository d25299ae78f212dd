package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkSuccess/chanpool/deps=8/par=1024-2         	 1	 500 ns/op	 2000000 jobs/s	 16 B/op	 1 allocs/op
BenchmarkSuccess/chanpool+gobreaker/deps=8/par=1024-2 	 1	 600 ns/op	 1000000 jobs/s	 16 B/op	 1 allocs/op
BenchmarkSuccess/chanpool+gobreaker-worker/deps=8/par=1024-2 	 1	 550 ns/op	 1500000 jobs/s	 16 B/op	 1 allocs/op
BenchmarkSuccess/warden/deps=8/par=1024-2            	 1	 400 ns/op	 2400000 jobs/s	 96 B/op	 1 allocs/op
BenchmarkSuccess/chanpool/deps=8/par=1024#01-2      	 1	 500 ns/op	 1000000 jobs/s	 16 B/op	 1 allocs/op
BenchmarkSuccess/chanpool+gobreaker/deps=8/par=1024#01-2 	 1	 600 ns/op	 800000 jobs/s	 16 B/op	 1 allocs/op
BenchmarkSuccess/chanpool+gobreaker-worker/deps=8/par=1024#01-2 	 1	 550 ns/op	 500000 jobs/s	 16 B/op	 1 allocs/op
BenchmarkSuccess/warden/deps=8/par=1024#01-2         	 1	 400 ns/op	 1200000 jobs/s	 96 B/op	 1 allocs/op
BenchmarkMemoryIdleDependency-2 	 1	 9000 B/idle-dep	 4000 goroutines/1000-deps
`

func TestRatiosPerRoundAgainstTheFasterBaseline(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := res["Success/warden/deps=8/par=1024"][1]["jobs/s"]; got != 1200000 {
		t.Fatalf("round 1 of warden: %v", got)
	}
	var out strings.Builder
	report(&out, res)
	for _, want := range []string{
		// round 0: 2.4M over the best gobreaker placement (1.5M) = 1.6;
		// round 1: 1.2M over 0.8M = 1.5
		"| success, 1024 callers over 8 deps, vs chanpool+gobreaker | >= 1.1x | 1.55 | 1.50 - 1.60 | 2 | yes |",
		// 2.4M / 2M = 1.2, 1.2M / 1M = 1.2
		"| same, vs bare chanpool | >= 1.0x | 1.20 | 1.20 - 1.20 | 2 | yes |",
		"| idle dependency, default policy, B | < 8192 | 9000 | 9000 - 9000 | 1 | no |",
		"| rejection allocations (handle) | 0 | - | - | 0 | not measured |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing row %q in\n%s", want, out.String())
		}
	}
}
