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

// PluginInfo is a plugin as GET /api/plugins shows it.
type PluginInfo struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"` // wasm or process
	Roles    []string `json:"roles"`
	Language string   `json:"language,omitempty"`
	Path     string   `json:"path"`
	State    string   `json:"state"`
	PID      int      `json:"pid,omitempty"`
	Restarts int      `json:"restarts,omitempty"`
	Calls    int64    `json:"calls"`
	Errors   int64    `json:"errors"`
	Latency  struct {
		Mean float64 `json:"mean"`
		P50  float64 `json:"p50"`
		P95  float64 `json:"p95"`
	} `json:"latencyMs"`
}

func (h *pluginHub) list() []PluginInfo { return []PluginInfo{} }
