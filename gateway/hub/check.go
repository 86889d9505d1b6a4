package hub

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/wasm"
)

// Check loads every plugin of cfg as serve would, into a scratch WASM host and plugin
// manager, and checks that the models and pipelines naming a plugin find it with the role they
// need. It returns the problems, path-qualified, or nil; it keeps nothing, and stops the
// process plugins it started.
func Check(cfg *config.File, log *slog.Logger) error {
	if len(cfg.Plugins) == 0 {
		return nil
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "iom-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	h, err := New(ctx, dir, log)
	if err != nil {
		return err
	}
	defer h.Close(ctx)

	// Each plugin alone first, so that every broken one is named; then the set, as serve loads it.
	var es decode.Errors
	var good []config.Plugin
	for i, c := range cfg.Plugins {
		if err := h.Apply(ctx, append(good, c)); err != nil {
			es.Add(decode.Index("plugins", i), "%s", strings.TrimPrefix(err.Error(), "plugins: "))
			continue
		}
		good = append(good, c)
	}
	if len(es) > 0 {
		return es
	}
	for i, m := range cfg.Models {
		path := decode.Index("models", i)
		if strings.HasPrefix(m.Provider, "wasm:") || strings.HasPrefix(m.Provider, "plugin:") {
			if err := h.KnownProvider(m.Provider); err != nil {
				es.Add(decode.Join(path, "provider"), "%v", err)
			}
		}
		if t := m.Transforms; t != nil {
			for j, name := range t.Request {
				h.checkTransform(&es, decode.Index(decode.Join(path, "transforms.request"), j), name)
			}
			for j, name := range t.Response {
				h.checkTransform(&es, decode.Index(decode.Join(path, "transforms.response"), j), name)
			}
		}
	}
	for i, p := range cfg.Pipelines {
		for j, n := range p.Nodes {
			if n.Type == spec.NodeTransform && n.Data.Plugin != "" {
				h.checkTransform(&es, fmt.Sprintf("pipelines[%d].nodes[%d].data.plugin", i, j), n.Data.Plugin)
			}
		}
	}
	return es.Err()
}

// checkTransform adds a problem to es when name is not a loaded plugin that transforms.
func (h *Hub) checkTransform(es *decode.Errors, path, name string) {
	if err := h.KnownPlugin(name); err != nil {
		es.Add(path, "%v", err)
		return
	}
	if w := h.wasmPlugin(name); w != nil && !w.Has(wasm.RoleTransform) {
		es.Add(path, "WASM plugin %q is not a transform (it does not export iom_transform)", name)
	}
}
