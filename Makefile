# IoM — the two commands a new user needs are `make run` and `make test`.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/iom
CONFIG   ?= configs/iom.yaml
FUZZTIME ?= 4s

.PHONY: all build run test test-go test-race fuzz bench node-deps vet clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/iom

## run: build and serve the default config (data plane :8080, admin 127.0.0.1:8081)
run: build
	./$(BIN) serve --config $(CONFIG)

## test: every test, the SDK tests against a real gateway, a race pass and a short fuzz pass
test: node-deps vet test-go test-race fuzz

vet:
	$(GO) vet ./...

test-go:
	IOM_REQUIRE_NODE=1 $(GO) test -count=1 ./...

# The packages with shared state under concurrency.
test-race:
	$(GO) test -count=1 -race ./gateway/...

# Each fuzz target runs briefly; `make fuzz FUZZTIME=5m` searches longer.
FUZZ_TARGETS := \
	./gateway/rawjson:FuzzScanObject \
	./gateway/server:FuzzParseRequest \
	./gateway/server:FuzzWriteEvent \
	./gateway/provider:FuzzSSEStream \
	./gateway/config:FuzzParse

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg >/dev/null; \
	done

node-deps: e2e/node/node_modules/.package-lock.json

e2e/node/node_modules/.package-lock.json: e2e/node/package.json e2e/node/package-lock.json
	cd e2e/node && npm ci --no-audit --no-fund --loglevel=error

## bench: the gateway against a direct upstream and a bare proxy (see bench/README.md)
bench:
	$(GO) run ./bench

clean:
	rm -rf bin
