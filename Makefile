# Warden's build. Every target works from a clean clone with only Go
# installed; tools come from tools/go.mod.

GO       ?= go
MODULES  := . bench
BIN      := $(CURDIR)/bin
COVERPKG := ./messages/... ./actors/...
COVERMIN := 90
FUZZTIME ?= 10s

.PHONY: all demo test lint fuzz cover bench tools clean

all: lint test

## demo: run Warden's demo
demo:
	$(GO) run ./examples/demo

## test: every module's tests, with the race detector
test:
	@set -e; for m in $(MODULES); do \
		echo "== go test -race ./... in $$m"; \
		(cd $$m && $(GO) test -race -count=1 ./...); \
	done

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
	@set -e; for pkg in ./actors/breaker ./actors/retrier; do \
		for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## cover: statement coverage of the cores, failing below COVERMIN%
cover:
	@set -e; for p in $(COVERPKG); do \
		$(GO) test -count=1 -cover $$p | tee -a /dev/stderr | \
		awk -v min=$(COVERMIN) '/coverage:/ { sub("%","",$$5); if ($$5+0 < min) { print "coverage below " min "%: " $$2; bad=1 } } END { exit bad }'; \
	done

## bench: the benchmarks in bench/
bench:
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
