package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// header is the start of both gateways' configs: listeners, data dir, the admin token, the key
// and the plain model the other rows are measured against.
func header(listen, admin, dataDir, mock string) string {
	// The loader is one client on loopback that opens thousands of connections in the open-loop
	// rounds: above the default cap per client address.
	return fmt.Sprintf(`server:
  listen: %q
  adminListen: %q
  dataDir: %q
  maxConnsPerIp: 16384
log:
  level: warn
admin:
  token: %s
keys:
  - name: bench
    key: %s
models:
  - id: bench
    name: Bench
    endpoint: http://%s/v1/chat/completions
    provider: openai
    costPerToken: 0.000001
`, listen, admin, dataDir, benchAdmin, benchKey, mock)
}

// gatewayConfig is the core gateway's: the plain model, a primary that fails fast into it, and a
// cached one.
func gatewayConfig(listen, admin, dataDir, mock string) string {
	return header(listen, admin, dataDir, mock) + fmt.Sprintf(`  - id: bench-broken
    name: Primary that fails fast
    endpoint: http://%[1]s/v1
    provider: openai
    upstreamModel: fail
    retry: {attempts: 0}
    breaker: {failures: 1000000}
    fallbacks: [bench]
  - id: bench-cached
    name: Cached
    endpoint: http://%[1]s/v1
    provider: openai
    cache: {ttlSeconds: 3600}
`, mock)
}

// An extra row: a model whose path adds one plugin, or a pipeline step, to the plain one.
type extraRow struct {
	label string
	model string
}

// extraRows lists the pipeline row and, when the example plugins are built in dir, the plugin rows.
func extraRows(dir string) []extraRow {
	rows := []extraRow{{label: "pipeline of one model step", model: "pipeline:bench-pipe"}}
	if hasPlugins(dir) {
		rows = append(rows,
			extraRow{label: "WASM request transform, C guest", model: "bench-wasm-c"},
			extraRow{label: "WASM request transform, Go guest", model: "bench-wasm-go"},
		)
		for _, g := range optionalGuests(dir) {
			rows = append(rows, extraRow{label: "WASM request transform, " + g.label + " guest", model: "bench-wasm-" + g.id})
		}
		rows = append(rows,
			extraRow{label: "process request transformer", model: "bench-proc-transform"},
			extraRow{label: "process provider", model: "bench-proc-provider"},
		)
	}
	return rows
}

var benchPlugins = []string{"pii-redact.wasm", "pii-redact-go.wasm", "process-transformer", "process-provider"}

// guest is a pii-redact build in an SDK language whose toolchain is optional.
type guest struct{ id, label, file string }

// optionalGuests are the pii-redact builds of the Rust and AssemblyScript SDKs found in dir.
func optionalGuests(dir string) []guest {
	var out []guest
	for _, g := range []guest{{"rust", "Rust", "pii-redact-rust.wasm"}, {"as", "AS", "pii-redact-as.wasm"}} {
		if _, err := os.Stat(filepath.Join(dir, g.file)); err == nil {
			out = append(out, g)
		}
	}
	return out
}

func hasPlugins(dir string) bool {
	for _, f := range benchPlugins {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// extrasConfig is the second gateway's: the plain model, a one-step pipeline and, when they are
// built, a model per plugin row, each calling the mock the way the plain one does.
func extrasConfig(listen, admin, dataDir, mock, pluginsDir string) string {
	cfg := header(listen, admin, dataDir, mock) + fmt.Sprintf(`  - {id: bench-step, name: The pipeline's step, endpoint: "http://%[1]s/v1", provider: openai, upstreamModel: bench}
pipelines:
  - id: bench-pipe
    name: One model step
    nodes:
      - {id: in, type: input}
      - {id: m, type: model, data: {model: bench-step}}
      - {id: out, type: output}
    edges:
      - {source: in, target: m}
      - {source: m, target: out}
`, mock)
	if !hasPlugins(pluginsDir) {
		return cfg
	}
	dir, _ := filepath.Abs(pluginsDir)
	models := fmt.Sprintf(`  - {id: bench-wasm-c, name: C transform, endpoint: "http://%[1]s/v1", provider: openai, upstreamModel: bench, transforms: {request: [redact-c]}}
  - {id: bench-wasm-go, name: Go transform, endpoint: "http://%[1]s/v1", provider: openai, upstreamModel: bench, transforms: {request: [redact-go]}}
%[2]s  - {id: bench-proc-transform, name: Process transform, endpoint: "http://%[1]s/v1", provider: openai, upstreamModel: bench, transforms: {request: [filter]}}
  - {id: bench-proc-provider, name: Process provider, endpoint: "http://%[1]s/v1", provider: "plugin:prov", upstreamModel: bench}
`, mock, optionalModels(pluginsDir, mock))
	cfg = strings.Replace(cfg, "pipelines:\n", models+"pipelines:\n", 1)
	return cfg + fmt.Sprintf(`plugins:
  - {name: redact-c, path: %[1]s/pii-redact.wasm}
  - {name: redact-go, path: %[1]s/pii-redact-go.wasm}
  - {name: filter, process: %[1]s/process-transformer, config: {words: [darn], replacement: "****"}}
  - {name: prov, process: %[1]s/process-provider}
`, dir) + optionalPlugins(dir)
}

// optionalModels are the models of the optional guests' rows.
func optionalModels(dir, mock string) string {
	var b strings.Builder
	for _, g := range optionalGuests(dir) {
		fmt.Fprintf(&b, "  - {id: bench-wasm-%[2]s, name: %[3]s transform, endpoint: \"http://%[1]s/v1\", provider: openai, upstreamModel: bench, transforms: {request: [redact-%[2]s]}}\n",
			mock, g.id, g.label)
	}
	return b.String()
}

// optionalPlugins are the plugin entries of the optional guests.
func optionalPlugins(dir string) string {
	var b strings.Builder
	for _, g := range optionalGuests(dir) {
		fmt.Fprintf(&b, "  - {name: redact-%s, path: %s/%s}\n", g.id, dir, g.file)
	}
	return b.String()
}

// request1KB is a chat request of about 1 KB for model, with text the transforms have to scan.
func request1KB(model string) []byte {
	sentence := "Please write to jane.doe@example.com or call +1 415 555 0100 about the darn invoice. "
	content := strings.Repeat(sentence, 1000/len(sentence)+1)[:960]
	return []byte(`{"model":"` + model + `","messages":[{"role":"user","content":"` + content + `"}]}`)
}
