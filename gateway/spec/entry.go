package spec

import "fmt"

// Entry is a registered model with its schemas compiled. Entries are immutable once published.
type Entry struct {
	*Model
	Input  *Schema
	Output *Schema
}

// NewEntry compiles a model's schemas without registering it (config validation).
func NewEntry(m *Model) (*Entry, error) {
	e := &Entry{Model: m}
	var err error
	if len(m.InputSchema) > 0 {
		if e.Input, err = CompileSchema(m.InputSchema); err != nil {
			return nil, fmt.Errorf("inputSchema: %w", err)
		}
	}
	if len(m.OutputSchema) > 0 {
		if e.Output, err = CompileSchema(m.OutputSchema); err != nil {
			return nil, fmt.Errorf("outputSchema: %w", err)
		}
	}
	return e, nil
}
