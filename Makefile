# IoM — the two commands a new user needs are `make run` and `make test`.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/iom
PLUGINS  := bin/plugins
CONFIG   ?= configs/iom.yaml
FUZZTIME ?= 10000x
# The plugin SDKs are Go modules of their own, which ./... at the root does not reach: vet,
# test-go, test-race and cross run in each of them too. The end-to-end tests and the bench are
# modules of their own as well, so that the client SDKs and the load generator they use stay out
# of the gateway's requirements: e2e is vetted and tested, bench vetted and cross-built.
SDK_MODULES := sdk/wasm sdk/plugin
E2E_MODULE := e2e
BENCH_MODULE := bench

.PHONY: all build run cluster plugins console jaeger test test-go test-race test-console test-sdk fuzz bench node-deps vet cross proto clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/iom

## run: build the console, the example plugins and the gateway, and serve the default config
## (LISTEN=:9090 and ADMIN_LISTEN=127.0.0.1:9091 move the listeners)
run: console plugins build
	./$(BIN) serve --config $(CONFIG) $(if $(LISTEN),--listen $(LISTEN)) $(if $(ADMIN_LISTEN),--admin-listen $(ADMIN_LISTEN))

## cluster: three gateways sharing Redis and VictoriaMetrics behind nginx on :8080, to try the
## cluster on one machine (scripts/cluster.sh; Ctrl-C stops everything)
cluster: console plugins build
	IOM=$(BIN) PLUGINS=$(PLUGINS) scripts/cluster.sh

## plugins: the example WASM modules and process plugins, into bin/plugins; each is rebuilt only
## when its sources or its SDK changed
PROCESS_PLUGINS := process-provider process-transformer
WASM_PLUGINS := $(filter-out internal $(PROCESS_PLUGINS),$(notdir $(patsubst %/,%,$(wildcard examples/plugins/*/))))
# A Go plugin may import another example's packages (local-models serves several), so every
# example Go file counts for every plugin.
WASM_SDK_SRC := $(wildcard sdk/wasm/*.go sdk/wasm-c/*.[ch] sdk/wasm-rust/src/*.rs sdk/wasm-as/assembly/*.ts) \
	$(shell find examples/plugins -name '*.go' -not -path '*/process-*' 2>/dev/null) examples/plugins/build.sh
plugins: $(addprefix $(PLUGINS)/,$(addsuffix .wasm,$(WASM_PLUGINS)) $(PROCESS_PLUGINS))

.SECONDEXPANSION:
$(PLUGINS)/%.wasm: $$(shell find examples/plugins/$$* -type f -not -path '*/target/*') $(WASM_SDK_SRC)
	examples/plugins/build.sh $(PLUGINS) $*

$(PLUGINS)/process-%: $$(wildcard examples/plugins/process-$$*/*.go) $(wildcard sdk/plugin/*.go sdk/plugin/proto/*.go)
	$(GO) build -o $@ ./examples/plugins/process-$*

## console: the admin console's assets, embedded into the binary by the next build
CONSOLE_SRC := $(shell find console/src console/public -type f 2>/dev/null) $(wildcard console/*.json console/*.ts console/*.html)
console: console/dist/index.html

console/dist/index.html: console/node_modules/.package-lock.json $(CONSOLE_SRC)
	cd console && npm run build

console/node_modules/.package-lock.json: console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error

## jaeger: the trace store the trace tests export to, built from the tools module (tools/go.mod,
## kept apart so that the gateway's requirements stay lean)
JAEGER := bin/jaeger
jaeger: $(JAEGER)

$(JAEGER): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../$(JAEGER) github.com/jaegertracing/jaeger/cmd/jaeger

## test: every test — Go, the SDK clients, the console in a real browser — a race pass and a short fuzz pass
test: node-deps console plugins vet test-go test-race test-console test-sdk fuzz

# The WASM SDK's ABI code builds for wasip1 only, so that SDK is vetted for wasip1 as well.
vet:
	$(GO) vet ./...
	@set -e; for m in $(SDK_MODULES) $(E2E_MODULE) $(BENCH_MODULE); do echo "go vet ./... in $$m"; (cd $$m && $(GO) vet ./...); done
	cd sdk/wasm && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...

# gotest runs go test with $(1) in the root module, or in each module directory of $(2) in turn
# (all of them, even after a failure); when it fails, the failing tests (and, from a test binary
# that ran out of time, the tests it was running) are printed again at the end, below any stack
# dump.
define gotest
	@log=$$(mktemp); { rc=0; for d in $(or $(2),.); do $(GO) test -C $$d $(1) || rc=$$?; done; echo $$rc > $$log.rc; } 2>&1 | tee $$log; rc=$$(cat $$log.rc); \
	if [ "$$rc" != 0 ]; then echo "== failed:"; grep -E -A3 '^(--- FAIL|panic: test timed out|FAIL)' $$log | head -60; fi; \
	rm -f $$log $$log.rc; exit $$rc
endef

test-go: export IOM_REQUIRE_NODE=1
test-go: export IOM_REQUIRE_BROWSER=1
test-go: export IOM_REQUIRE_WASM_C=1
test-go: export IOM_REQUIRE_WASM_RUST=1
test-go: export IOM_REQUIRE_WASM_AS=1
test-go: export IOM_REQUIRE_PROMTOOL=1
test-go: export IOM_REQUIRE_REDIS=1
test-go: export IOM_REQUIRE_VM=1
test-go: export IOM_REQUIRE_JAEGER=1
test-go: export IOM_JAEGER=$(CURDIR)/$(JAEGER)
test-go: export IOM_PLUGINS_DIR=$(CURDIR)/$(PLUGINS)
test-go: $(JAEGER)
	$(call gotest,-count=1 ./...,. $(SDK_MODULES) $(E2E_MODULE))

# The packages with shared state under concurrency, and the process-plugin SDK, which serves
# calls concurrently.
test-race:
	$(call gotest,-count=1 -race ./gateway/... ./plugins/... ./wasm/...)
	$(call gotest,-count=1 -race ./...,sdk/plugin)

test-console: console/node_modules/.package-lock.json
	cd console && npm test

# The AssemblyScript and Rust SDKs' own tests (the Go tests run their example plugins).
test-sdk: sdk/wasm-as/node_modules/.package-lock.json
	cd sdk/wasm-as && npm test
	@rustc=$$(sdk/wasm-rust/build.sh --check) && dir=$$(mktemp -d) && \
		$$rustc --edition 2021 --test sdk/wasm-rust/src/lib.rs -o $$dir/iom-sdk-test && $$dir/iom-sdk-test -q; \
		rc=$$?; rm -rf "$$dir"; exit $$rc

# Each fuzz target runs briefly (a count of inputs: with a duration, Go 1.26's fuzzing coordinator
# can fail a run with "context deadline exceeded" at the deadline, golang/go#75804);
# `make fuzz FUZZTIME=5m` searches longer. A failing run prints its output.
FUZZ_TARGETS := \
	./gateway/rawjson:FuzzScanObject \
	./gateway/responses:FuzzPrepare \
	./gateway/server:FuzzParseRequest \
	./gateway/server:FuzzWriteEvent \
	./gateway/provider:FuzzSSEStream \
	./gateway/provider:FuzzNextHop \
	./gateway/config:FuzzParse \
	./wasm:FuzzGuestOutput \
	./wasm:FuzzInstrument \
	./wasm:FuzzEnvelope

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		out=$$($(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1) || { echo "$$out"; exit 1; }; \
	done

## cross: the tree builds for every platform we ship (CI runs it)
CROSS_TARGETS := linux/amd64 linux/arm64 darwin/arm64 windows/amd64

# In a module whose ./... is one command (bench), go build would write its binary there: the
# modules' builds go to /dev/null.
cross:
	@set -e; for t in $(CROSS_TARGETS); do \
		echo "go build ./... for $$t"; \
		GOOS=$${t%%/*} GOARCH=$${t##*/} CGO_ENABLED=0 $(GO) build ./...; \
		for m in $(SDK_MODULES) $(BENCH_MODULE); do \
			echo "go build ./... in $$m for $$t"; \
			(cd $$m && GOOS=$${t%%/*} GOARCH=$${t##*/} CGO_ENABLED=0 $(GO) build -o /dev/null ./...); \
		done; \
	done
	@echo "go build ./... in sdk/wasm for wasip1/wasm"; cd sdk/wasm && GOOS=wasip1 GOARCH=wasm $(GO) build ./...

node-deps: e2e/node/node_modules/.package-lock.json sdk/wasm-as/node_modules/.package-lock.json

sdk/wasm-as/node_modules/.package-lock.json: sdk/wasm-as/package.json sdk/wasm-as/package-lock.json
	cd sdk/wasm-as && npm ci --no-audit --no-fund --loglevel=error

e2e/node/node_modules/.package-lock.json: e2e/node/package.json e2e/node/package-lock.json
	cd e2e/node && npm ci --no-audit --no-fund --loglevel=error

## bench: the gateway against a direct upstream, a bare proxy and nginx (see bench/README.md)
# The bench is a module of its own, built into bin/bench and run from here: it builds ./cmd/iom,
# runs the Go benchmarks of ./gateway/pipeline and ./plugins, and finds bin/plugins, all relative
# to the repository's root.
bench: plugins
	$(GO) build -C $(BENCH_MODULE) -o $(CURDIR)/bin/bench .
	./bin/bench

## proto: regenerate the process plugins' gRPC code (needs protoc)
proto:
	plugins/gen.sh

clean:
	rm -rf bin console/dist/assets console/dist/index.html
