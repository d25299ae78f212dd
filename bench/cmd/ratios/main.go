// Command ratios prints, from a raw `go test -bench` results file, one row
// per performance target: Warden's figure against its baseline, computed
// within each round (peers alternate within a run, so a round's figures
// share its noise), then the median and the min-max over the rounds.
//
//	BENCH_ROUNDS=7 ./bench.test -test.bench . > results.txt
//	go run ./cmd/ratios results.txt
//
// A scenario's repeats are named name, name#01, name#02, ... by go test;
// the suffix is the round.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ratios RESULTS.txt")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
	report(os.Stdout, res)
}

// results holds metric values by benchmark (without its round and GOMAXPROCS
// suffixes), then by round, then by unit.
type results map[string]map[int]map[string]float64

var line = regexp.MustCompile(`^Benchmark(\S+?)(?:#(\d+))?(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		round := 0
		if m[2] != "" {
			round, _ = strconv.Atoi(m[2])
		}
		fields := strings.Fields(m[3])
		if res[m[1]] == nil {
			res[m[1]] = map[int]map[string]float64{}
		}
		if res[m[1]][round] == nil {
			res[m[1]][round] = map[string]float64{}
		}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sc.Text(), err)
			}
			res[m[1]][round][fields[i+1]] = v
		}
	}
	return res, sc.Err()
}

// target is one row: value computes its figure for one round, or false
// when a benchmark it needs is missing from that round.
type target struct {
	name, goal string
	value      func(round func(bench, unit string) (float64, bool)) (float64, bool)
	holds      func(float64) bool
}

// ratio is a's metric over the best of bs' (the highest for jobs/s, the
// lowest otherwise: the faster placement of a baseline is the baseline).
func ratio(a, unit string, bs ...string) func(func(string, string) (float64, bool)) (float64, bool) {
	return func(get func(string, string) (float64, bool)) (float64, bool) {
		x, ok := get(a, unit)
		if !ok {
			return 0, false
		}
		best, found := 0.0, false
		for _, b := range bs {
			if y, ok := get(b, unit); ok && (!found || (unit == "jobs/s") == (y > best)) {
				best, found = y, true
			}
		}
		if !found || best == 0 {
			return 0, false
		}
		return x / best, true
	}
}

func value(a, unit string) func(func(string, string) (float64, bool)) (float64, bool) {
	return func(get func(string, string) (float64, bool)) (float64, bool) { return get(a, unit) }
}

func atMost(g float64) func(float64) bool  { return func(v float64) bool { return v <= g } }
func atLeast(g float64) func(float64) bool { return func(v float64) bool { return v >= g } }

var (
	gob     = []string{"chanpool+gobreaker", "chanpool+gobreaker-worker"}
	targets = []target{
		{"success, 1024 callers over 8 deps, vs chanpool+gobreaker", ">= 1.1x",
			ratio("Success/warden/deps=8/par=1024", "jobs/s", with("Success/", gob, "/deps=8/par=1024")...), atLeast(1.1)},
		{"same, vs bare chanpool", ">= 1.0x",
			ratio("Success/warden/deps=8/par=1024", "jobs/s", "Success/chanpool/deps=8/par=1024"), atLeast(1.0)},
		{"allocations per successful job (handle)", "0",
			value("Success/warden-handle/deps=8/par=1", "allocs/op"), atMost(0)},
		{"rejection while OPEN, handle, vs eapache (1 caller)", "<= 2x",
			ratio("RejectOpen/warden-handle/deps=8/par=1", "ns/op", "RejectOpen/eapache/deps=8/par=1"), atMost(2)},
		{"rejection while OPEN, handle, vs gobreaker (1 caller)", "<= 0.1x",
			ratio("RejectOpen/warden-handle/deps=8/par=1", "ns/op", with("RejectOpen/", gob, "/deps=8/par=1")...), atMost(0.1)},
		{"rejection while OPEN, by name, vs gobreaker (1 caller)", "<= 0.2x",
			ratio("RejectOpen/warden/deps=8/par=1", "ns/op", with("RejectOpen/", gob, "/deps=8/par=1")...), atMost(0.2)},
		{"rejection allocations (handle)", "0",
			value("RejectOpen/warden-handle/deps=8/par=1", "allocs/op"), atMost(0)},
		{"single caller round trip (handle) vs chanpool", "<= 1.3x",
			ratio("Success/warden-handle/deps=8/par=1", "ns/op", "Success/chanpool/deps=8/par=1"), atMost(1.3)},
		{"1 -> 1,000 dependencies, throughput", ">= 0.9x",
			ratio("Deps/warden/deps=1000/par=256", "jobs/s", "Deps/warden/deps=1/par=256"), atLeast(0.9)},
		{"retry path vs failsafe-go, 1 caller", ">= 1.0x",
			ratio("Retry/warden-handle/deps=8/par=1", "jobs/s", "Retry/failsafe-full/deps=8/par=1"), atLeast(1.0)},
		{"retry path vs failsafe-go, 256 callers", ">= 1.0x",
			ratio("Retry/warden-handle/deps=8/par=256", "jobs/s", "Retry/failsafe-full/deps=8/par=256"), atLeast(1.0)},
		{"success, metrics to the OTel SDK vs metrics off, 1024 callers", ">= 0.95x",
			ratio("Metrics/warden-handle-otelsdk/deps=8/par=1024", "jobs/s", "Metrics/warden-handle-nometrics/deps=8/par=1024"), atLeast(0.95)},
		{"same, 1 caller", ">= 0.95x",
			ratio("Metrics/warden-handle-otelsdk/deps=8/par=1", "jobs/s", "Metrics/warden-handle-nometrics/deps=8/par=1"), atLeast(0.95)},
		{"same, the duration histogram dropped by a view, 1024 callers", ">= 0.95x",
			ratio("Metrics/warden-handle-otelsdk-counts/deps=8/par=1024", "jobs/s", "Metrics/warden-handle-nometrics/deps=8/par=1024"), atLeast(0.95)},
		{"success, metrics to the no-op global provider vs off, 1024 callers", ">= 0.95x",
			ratio("Metrics/warden-handle/deps=8/par=1024", "jobs/s", "Metrics/warden-handle-nometrics/deps=8/par=1024"), atLeast(0.95)},
		{"success with the cluster joined (one node) vs not, 1024 callers", ">= 0.95x",
			ratio("Metrics/warden-handle-clustered/deps=8/par=1024", "jobs/s", "Metrics/warden-handle-nometrics/deps=8/par=1024"), atLeast(0.95)},
		{"success, every job traced by the OTel SDK vs not traced, 1024 callers", "(for the record)",
			ratio("Metrics/warden-handle-traced/deps=8/par=1024", "jobs/s", "Metrics/warden-handle-nometrics/deps=8/par=1024"), nil}, // no goal: the cost, for the record
		{"goroutines per pending retry (the executor's own, shared)", "< 0.001",
			value("MemoryPendingRetries", "goroutines/pending-retry"), func(v float64) bool { return v < 0.001 }},
		{"100k pending retries, MB", "< 32",
			value("MemoryPendingRetries", "MB/100k-retries"), func(v float64) bool { return v < 32 }},
		{"idle dependency, default policy, B", "< 8192",
			value("MemoryIdleDependency", "B/idle-dep"), func(v float64) bool { return v < 8192 }},
	}
)

func with(prefix string, peers []string, suffix string) []string {
	out := make([]string, len(peers))
	for i, p := range peers {
		out[i] = prefix + p + suffix
	}
	return out
}

func report(w io.Writer, res results) {
	rounds := map[int]bool{}
	for _, byRound := range res {
		for r := range byRound {
			rounds[r] = true
		}
	}
	fmt.Fprintln(w, "| target | goal | median | min - max | rounds | holds |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, t := range targets {
		var vs []float64
		for r := range rounds {
			get := func(bench, unit string) (float64, bool) {
				v, ok := res[bench][r][unit]
				return v, ok
			}
			if v, ok := t.value(get); ok {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			fmt.Fprintf(w, "| %s | %s | - | - | 0 | not measured |\n", t.name, t.goal)
			continue
		}
		slices.Sort(vs)
		med := median(vs)
		holds := "no"
		switch {
		case t.holds == nil:
			holds = "-"
		case t.holds(med):
			holds = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s - %s | %d | %s |\n",
			t.name, t.goal, num(med), num(vs[0]), num(vs[len(vs)-1]), len(vs), holds)
	}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) < 0.01:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
