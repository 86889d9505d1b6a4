package spec

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled JSON Schema.
type Schema struct{ s *jsonschema.Schema }

// CompileSchema compiles a JSON Schema document (draft 2020-12 unless it says otherwise). It
// loads nothing from the network or the file system: a $ref must point inside the document.
func CompileSchema(raw []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	const loc = "mem://schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, schemaError(err)
	}
	return &Schema{s}, nil
}

// Validate checks a JSON document against the schema and returns a readable error.
func (s *Schema) Validate(raw []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return s.ValidateValue(doc)
}

// ValidateValue checks a decoded value (numbers as json.Number or float64).
func (s *Schema) ValidateValue(v any) error {
	if err := s.s.Validate(v); err != nil {
		return schemaError(err)
	}
	return nil
}

// schemaError flattens the library's indented error tree into one line a client can read: the
// deepest failures, which say what is wrong where.
func schemaError(err error) error {
	var leaves []string
	deepest := -1
	for _, line := range strings.Split(err.Error(), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if !strings.HasPrefix(trimmed, "- at '") {
			continue
		}
		depth := len(line) - len(trimmed)
		loc, msg, ok := strings.Cut(strings.TrimPrefix(trimmed, "- at '"), "': ")
		if !ok {
			continue
		}
		if loc == "" {
			loc = "/"
		}
		leaf := "at " + loc + ": " + msg
		switch {
		case depth > deepest:
			deepest, leaves = depth, []string{leaf}
		case depth == deepest:
			leaves = append(leaves, leaf)
		}
	}
	if len(leaves) == 0 {
		return fmt.Errorf("%s", strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "mem://schema.json", "")), " "))
	}
	return fmt.Errorf("%s", strings.Join(leaves, "; "))
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema refers to %q; only references inside the schema are allowed", url)
}
