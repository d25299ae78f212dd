# Warden's build. Every target works from a clean clone with Go installed
# (and gcc for the race detector of make test); tools come from
# tools/go.mod.

GO       ?= go
MODULES  := . bench status/browsertest examples/sqlite examples/postgres cluster
BIN      := $(CURDIR)/bin
COVERPKG := ./messages/... ./actors/...
COVERMIN := 90
FUZZTIME ?= 10s

BENCH_ROUNDS ?= 7
BENCH_TIME ?= 100ms
QUICK_ROUNDS ?= 3
BENCH_DATE := $(shell date +%F-%H%M%S) # a run never overwrites an earlier one's files

SOAK ?= 10m

.PHONY: all demo cluster-demo cluster-bench test lint fuzz cover bench bench-quick soak tools clean screenshot

all: lint test

## demo: run Warden's demo
demo:
	$(GO) run ./examples/demo

## cluster-demo: three node processes share one breaker through etcd
## (needs the etcd binary: Debian's etcd-server package)
cluster-demo:
	cd cluster && $(GO) run ./demo

## cluster-bench: how long a fleet breaker's open takes to reach the other
## nodes, over 100 trips (p50, p99 and max, in ms)
cluster-bench:
	cd cluster && $(GO) test -count=1 -run '^$$' -bench BenchmarkOpenPropagation -benchtime=100x .

## screenshot: the status page in headless Chromium, saved for the README
screenshot:
	cd status/browsertest && WARDEN_SCREENSHOT=$(CURDIR)/docs/status-page.png $(GO) test -count=1 -run TestStatusPageInChromium .

## test: every module's tests, with the race detector. Every module runs
## even when one fails; the target fails at the end if any did. The
## executor's package runs in directory mode, which prints its
## reliability summary line.
test:
	@failed=""; for m in $(MODULES); do \
		echo "== go test -race ./... in $$m"; \
		(cd $$m && $(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/executor$$')) || failed="$$failed $$m"; \
	done; \
	echo "== go test -race in executor"; \
	(cd executor && $(GO) test -race -count=1) || failed="$$failed executor"; \
	echo "== allocation counts in executor (without the race detector, which allocates)"; \
	(cd executor && $(GO) test -count=1 -run 'Allocates') || failed="$$failed executor-allocs"; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

$(BIN)/staticcheck: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck

$(BIN)/benchstat: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(BIN)/benchstat golang.org/x/perf/cmd/benchstat

tools: $(BIN)/staticcheck $(BIN)/benchstat

## lint: gofmt, go vet and staticcheck over every module
lint: $(BIN)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do \
		echo "== vet and staticcheck in $$m"; \
		(cd $$m && $(GO) vet ./... && $(BIN)/staticcheck ./...); \
	done

## fuzz: run each fuzz target for FUZZTIME
fuzz:
	@set -e; for pkg in ./actors/breaker ./actors/retrier ./executor; do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## cover: statement coverage of the cores, failing below COVERMIN%
cover:
	@set -e; for p in $(COVERPKG); do \
		$(GO) test -count=1 -cover $$p | \
		awk -v min=$(COVERMIN) '{ print } /coverage:/ { sub("%","",$$5); if ($$5+0 < min) { print "coverage below " min "%: " $$2; bad=1 } } END { exit bad }'; \
	done

## soak: the chaos mix in real time for SOAK (10m), sampling heap,
## goroutines and gauges every 10 s; fails if they grow. Not run by CI.
soak:
	WARDEN_SOAK=$(SOAK) $(GO) test -count=1 -timeout 0 -run '^TestSoak$$' -v ./executor

## bench: every benchmark in one run of one binary, BENCH_ROUNDS rounds
## with the peers alternating within each round, then the memory
## benchmarks in a process of their own, so that no earlier benchmark's
## garbage is freed while they measure; writes the raw results,
## a benchstat summary, a throughput plot and the table of targets (median
## and min-max of the per-round ratios) to bench/results, and prints the
## table
bench: $(BIN)/benchstat
	cd bench && $(GO) test -c -o $(BIN)/bench.test .
	@mkdir -p bench/results
	@set -e; out=bench/results/$(BENCH_DATE); \
	(cd bench && BENCH_ROUNDS=$(BENCH_ROUNDS) $(BIN)/bench.test -test.run '^$$' -test.bench . -test.skip '^BenchmarkMemory' -test.benchmem -test.benchtime $(BENCH_TIME)) > $$out.txt; \
	(cd bench && $(BIN)/bench.test -test.run '^$$' -test.bench '^BenchmarkMemory' -test.benchmem -test.benchtime $(BENCH_TIME)) >> $$out.txt; \
	sed -E 's/#[0-9]+(-[0-9]+[[:space:]])/\1/' $$out.txt > $$out-merged.txt; \
	$(BIN)/benchstat $$out-merged.txt > $$out-summary.txt; \
	(cd bench && $(GO) run ./cmd/plot results/$(BENCH_DATE)-merged.txt results/$(BENCH_DATE).png); \
	(cd bench && $(GO) run ./cmd/ratios results/$(BENCH_DATE).txt) | tee $$out-targets.md; \
	echo "wrote $$out.txt, -merged.txt, -summary.txt, -targets.md and .png"

## bench-quick: the same table from fewer, shorter rounds of the success,
## dependency-count, rejection and retry paths
bench-quick:
	cd bench && $(GO) test -c -o $(BIN)/bench.test .
	@set -e; out=$$(mktemp); \
	(cd bench && BENCH_ROUNDS=$(QUICK_ROUNDS) $(BIN)/bench.test -test.run '^$$' -test.bench 'Success/|Deps/|RejectOpen/|Retry/|Metrics/' -test.benchmem -test.benchtime 50ms) > $$out; \
	(cd bench && $(GO) run ./cmd/ratios $$out); rm -f $$out

clean:
	rm -rf $(BIN)
