package server

import (
	"context"
	"fmt"
	"sync"
)

// pluginHub knows the loaded plugins, WASM and process alike, so pipelines and models use them
// by name without caring which kind they are.
type pluginHub struct {
	mu    sync.RWMutex
	kinds map[string]string // name → wasm or process
}

func newPluginHub() *pluginHub { return &pluginHub{kinds: map[string]string{}} }

func (h *pluginHub) has(name string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.kinds[name] != ""
}

// Transform runs plugin's transform on a pipeline step's value.
func (h *pluginHub) Transform(ctx context.Context, plugin string, value any, config any, meta map[string]any) (any, error) {
	return nil, fmt.Errorf("plugin %q is not loaded", plugin)
}
