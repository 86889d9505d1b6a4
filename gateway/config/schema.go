package config

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/iomhq/iom/gateway/decode"
)

// JSONSchema returns the JSON Schema of the config file (configs/iom.schema.json is this, kept
// equal by a test), so editors can check and complete configs.
func JSONSchema() ([]byte, error) {
	defs := map[string]any{}
	root := decode.SchemaOf(reflect.TypeOf(File{}), defs, "#/$defs/")
	for _, d := range descriptions {
		def, _ := defs[d.def].(map[string]any)
		props, _ := def["properties"].(map[string]any)
		prop, ok := props[d.property].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("a description is for %s.%s, which the schema does not have", d.def, d.property)
		}
		prop["description"] = d.text
	}
	doc := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://iom.dev/schemas/iom.schema.json",
		"title":       "IoM gateway config",
		"description": "The one YAML file of an IoM gateway: server, admin, keys, orgs, providers, models, plugins, pipelines. ${ENV} references are expanded in strings.",
		"$ref":        root["$ref"],
		"$defs":       defs,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	return append(b, '\n'), err
}

// descriptions document the fields whose syntax a name does not tell.
var descriptions = []struct{ def, property, text string }{
	{"ConfigEgress", "allow", "Addresses upstream calls may connect to although refused by default (link-local and cloud metadata addresses; the gateway's own listeners, only by an entry naming the listener's port). Each entry is an address (10.0.0.5, ::1), a CIDR (169.254.0.0/16, fe80::/10) or a host name (metadata.internal, *.corp.example.com), with an optional port (10.0.0.0/8:443, [::1]:11434, ollama.lan:11434). deny wins over allow."},
	{"ConfigEgress", "deny", "Addresses upstream calls may never connect to, whatever allow says; entries as in allow. A name entry refuses the name; an address or CIDR entry refuses every name that resolves into it."},
	{"ConfigProvider", "apiKey", "The provider-wide key: sent by the provider's models without an apiKey of their own, only to the vendor's API host (api.openai.com, api.anthropic.com, the Hugging Face inference hosts, ollama.com, generativelanguage.googleapis.com, Azure OpenAI's *.openai.azure.com, *.services.ai.azure.com and *.cognitiveservices.azure.com, Bedrock Runtime's regional, FIPS and VPC endpoint hosts over HTTPS, where a bedrock key is ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]) and the hosts in keyHosts."},
	{"ConfigPlugin", "name", "The plugin's name: models list it in transforms, pipelines in transform nodes, and a model it serves names it as provider wasm:<name> (WASM) or plugin:<name> (process)."},
	{"ConfigPlugin", "path", "A WASM module (.wasm) speaking the plugin ABI v1 (wasm/ABI.md). Its roles come from the functions it exports: iom_transform, iom_transform_chunk, iom_adapter_request with iom_adapter_response, iom_infer."},
	{"ConfigPlugin", "process", "A process plugin: an executable serving the go-plugin protocol (sdk/plugin), started by the gateway and restarted with backoff when it exits."},
	{"ConfigPlugin", "config", "Any JSON value, given to the plugin with every call: the config member of each ABI input (null when absent). A pipeline's transform node can replace it for its step."},
	{"ConfigPlugin", "language", "Informational: the language the plugin is written in, shown by the admin API."},
	{"ConfigPluginLimits", "memoryMB", "WASM: the cap on each instance's linear memory, in MB (ABI.md §6.1 MemoryLimitMB; default 64, at most 4096). A module declaring a larger memory maximum is refused at load."},
	{"ConfigPluginLimits", "timeoutMs", "The deadline of each call in milliseconds (ABI.md §6.1 Timeout; default 1000 for WASM), or the caller's deadline if earlier. A WASM instance's start-up gets the larger of this and 10 s."},
	{"ConfigPluginLimits", "instances", "WASM: the pooled instances, so the calls that run at once (ABI.md §6.1 PoolSize; default half the CPUs, at least 1). 64 calls per instance may wait for one; past that a call fails at once with 503."},
	{"ConfigPluginAllow", "clock", "WASM: the real wall and monotonic clocks instead of the fake clock (which starts at 2022-01-01T00:00:00Z and advances 1 ms per reading), and sleeps that really sleep, up to the call's deadline."},
	{"ConfigPluginAllow", "random", "WASM: random_get reads the host's crypto/rand instead of a deterministic stream."},
	{"SpecTransforms", "request", "Plugins run in order on the request before each upstream call (also a fallback's, with its own list): each gets the previous one's output. A plugin is called only at the stages that list it. The gateway sets the body's model to the upstream model after the chain."},
	{"SpecTransforms", "response", "Plugins run in order on a non-streamed answer before it reaches the client (iom_transform, stage response); for a stream, the WASM ones exporting iom_transform_chunk run on each chunk instead."},
	{"SpecPipeline", "chatInput", "The inputSchema property that a chat request to pipeline:<id> fills from its last user message (a string takes the text, an image string an image part's URL, an array of numbers the numbers in the text). Without it, the schema's only required string property, if it has exactly one."},
	{"ConfigResponses", "retentionHours", "How long the Responses API keeps a stored response (one made with store, the default), for GET /v1/responses/{id} and previous_response_id, in hours: from 1 to 87600, default 720 (30 days). A response past it is gone: getting or continuing it is 404."},
	{"ConfigFile", "accessLog", "The access log: one structured line (log/slog) per data-plane request, with its time, requestId, keyId, org, model and servedBy, provider, HTTP status, errorKind, latencyMs, firstByteMs, inputTokens, outputTokens, costUsd, cache, fallback, clientIp, op, stream, path and traceId. Never a key, a token, a prompt, an answer or an upstream address."},
	{"ConfigFile", "telemetry", "OpenTelemetry traces: a server span per data-plane request, a client span per upstream attempt (retries and fallbacks each their own), a span per pipeline step and per transform plugin call, with the GenAI semantic conventions' attributes (gen_ai.operation.name, gen_ai.request.model, gen_ai.response.model, gen_ai.provider.name, gen_ai.usage.input_tokens, gen_ai.usage.output_tokens) and iom.key.id, iom.org, iom.cost_usd, iom.cache. Whether export is on or not, a client's W3C traceparent is continued and sent to upstreams and process plugins, and every answer carries x-iom-trace-id. Read at start; a reload keeps the running telemetry."},
	{"ConfigTelemetry", "enabled", "Export spans over OTLP (default false). Off, the gateway records no span and exports nothing; trace ids are still passed on and answered."},
	{"ConfigTelemetry", "serviceName", "The service.name of the spans (default: OTEL_SERVICE_NAME, else iom). OTEL_RESOURCE_ATTRIBUTES adds attributes."},
	{"ConfigTelemetry", "sampling", "The share of new traces recorded, from 0 to 1 (default: OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, else all). A request with a traceparent follows its sampled flag."},
	{"ConfigTelemetry", "traceUrl", "A link from a trace id to a trace viewer, with {traceId} where the id goes (http://127.0.0.1:16686/trace/{traceId} for Jaeger). The console links the trace ids of executions with it."},
	{"ConfigTelemetry", "content", "Put the request and answer bodies (prompts and completions, cut to 16 KiB) on the request spans as gen_ai.input.messages and gen_ai.output.messages (default false: they may hold personal data)."},
	{"ConfigOTLP", "endpoint", "The OTLP collector's URL: http://host:4317 for grpc, http://host:4318 for http (an https URL uses TLS; for http a path other than / replaces /v1/traces). Empty: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, else localhost."},
	{"ConfigOTLP", "protocol", "grpc or http (protobuf over HTTP). Empty: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc."},
	{"ConfigOTLP", "headers", "Headers sent with every export, such as an authorization header; values may use ${ENV} and never print. Empty: OTEL_EXPORTER_OTLP_HEADERS."},
	{"ConfigAccessLog", "enabled", "Write the access log (default false: a line per request costs the hot path). A reload turns it on or off."},
	{"ConfigAccessLog", "format", "json (default: one JSON object a line) or text (key=value pairs, as log/slog writes them)."},
	{"ConfigAccessLog", "file", "The file the lines go to, rotated by size (maxSizeMB, maxBackups, maxAgeDays); its directory is created. Empty (default): stderr, with the gateway's own log (each access line has msg=access)."},
	{"ConfigAccessLog", "maxSizeMB", "Rotate the file when a line would take it past this size, in MB: from 1 to 1048576, default 100. The rotated file keeps its name with the time of the rotation before its extension."},
	{"ConfigAccessLog", "maxBackups", "How many rotated files are kept (default 5; 0 keeps all of them, as far as maxAgeDays allows)."},
	{"ConfigAccessLog", "maxAgeDays", "How many days a rotated file is kept (default 7; 0 keeps them whatever their age, as far as maxBackups allows)."},
	{"ConfigAccessLog", "sample", "The share of successful requests logged, from 0 to 1 (default 1: all). A request that failed (a status of 400 or more, or a stream that ended with an error) is always logged."},
	{"ConfigAccessLog", "fields", "The fields each line has, in the log's own order: time, requestId, keyId, org, model (asked for), servedBy (the model that answered), provider, status (HTTP), errorKind, latencyMs, firstByteMs (a stream's upstream first chunk), inputTokens, outputTokens, costUsd, cache (hit or miss), fallback, clientIp (the TCP peer), op, stream, path (without the query). Empty (default): all of them."},
	{"ConfigAccessLog", "exclude", "Paths of data-plane requests not logged: an exact path (/v1/models), or a prefix ending in * (/v1/responses/*). Default [\"/v1/models\"]; [] logs every path."},
	{"ConfigProvider", "keyHosts", "More hosts the provider-wide apiKey is sent to: host (HTTPS on port 443 only), host:port (that port, either scheme), *.example.com or *.example.com:port (its subdomains)."},
	{"SpecMCPOAuth", "tokenUrl", "The OAuth token endpoint the gateway gets the MCP server's bearer token from (client credentials grant), under the egress policy. The token is reused until it expires and fetched again when the server answers 401."},
	{"SpecMCPOAuth", "clientSecret", "Write-only: never shown by the admin API; may use ${ENV}. An API-registered server keeps it on update only while its url and tokenUrl keep their origins."},
	{"SpecMCPOAuth", "audience", "Sent to the token endpoint as the audience parameter, when set."},
	{"ConfigClusterRedis", "url", "redis://[:password@]host:port[/db], or rediss:// for TLS; may hold a password, so it never prints. Give url or sentinel, not both."},
	{"ConfigClusterRedis", "sentinel", "Find the Redis primary through Redis Sentinel (masterName, addrs, password) instead of url, and follow it when the sentinels promote a replica."},
	{"ConfigClusterSentinel", "addrs", "The sentinels, host:port each (1 to 16); the first that answers names the primary."},
	{"ConfigClusterSentinel", "password", "The password of the Redis primary and replicas (requirepass), not of the sentinels; may use ${ENV} and never prints."},
}
