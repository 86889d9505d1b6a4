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
