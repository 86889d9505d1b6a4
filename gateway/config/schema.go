package config

import (
	"encoding/json"
	"reflect"

	"github.com/iomhq/iom/gateway/decode"
)

// JSONSchema returns the JSON Schema of the config file (configs/iom.schema.json is this, kept
// equal by a test), so editors can check and complete configs.
func JSONSchema() ([]byte, error) {
	defs := map[string]any{}
	root := decode.SchemaOf(reflect.TypeOf(File{}), defs, "#/$defs/")
	for _, d := range descriptions {
		if def, ok := defs[d.def].(map[string]any); ok {
			if prop, ok := def["properties"].(map[string]any)[d.property].(map[string]any); ok {
				prop["description"] = d.text
			}
		}
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
	{"ConfigProvider", "apiKey", "The provider-wide key: sent by the provider's models without an apiKey of their own, only to the vendor's API host (api.openai.com, api.anthropic.com, the Hugging Face inference hosts, ollama.com) and the hosts in keyHosts."},
	{"ConfigProvider", "keyHosts", "More hosts the provider-wide apiKey is sent to: host (HTTPS on port 443 only), host:port (that port, either scheme), *.example.com or *.example.com:port (its subdomains)."},
}
