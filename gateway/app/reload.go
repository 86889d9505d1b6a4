package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/server"
)

// reloadSet lists the components that follow the config, in the order they prepare and commit.
// Each commit may rely on those before it: the models' upstreams take the providers' defaults
// and bind the plugins that serve them, so both commit before the models; the pipelines come
// after the models, plugins and MCP servers their steps name.
func (g *Gateway) reloadSet() []Component {
	return []Component{
		component(g.prepareServer),
		component(g.prepareEgress),
		setting(g.setProviders),
		component(g.preparePlugins),
		component(g.prepareModels),
		component(g.prepareKeys),
		component(g.prepareAdminToken),
		setting(g.setLimits),
		setting(g.setRecords),
		setting(g.setPipelines),
	}
}

// apply makes cfg the running config, as one transaction of the components (transact). At
// first start it also reports the credentials it generated and those missing from the file.
func (g *Gateway) apply(cfg *config.File, first bool) error {
	if !first && clusterChanged(g.cfg.Load(), cfg) {
		g.log.Warn("cluster settings changed; they take effect when the gateway restarts")
	}
	g.generated = nil
	if err := transact(g.life, cfg, g.components); err != nil {
		return err
	}
	g.cfg.Store(cfg)
	if len(g.generated) > 0 {
		g.announce(cfg, g.generated)
	}
	if first {
		g.noteMissingCredentials(cfg)
	}
	return nil
}

// prepareServer opens the access log; the commit gives the server its new config.
func (g *Gateway) prepareServer(_ context.Context, cfg *config.File) (Change, error) {
	ch, err := g.srv.Prepare(cfg)
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// prepareEgress compiles the egress policy of upstream calls.
func (g *Gateway) prepareEgress(_ context.Context, cfg *config.File) (Change, error) {
	p, err := g.egressPolicy(cfg)
	if err != nil {
		return nil, err
	}
	return prepared{commit: func() { g.Pool.SetEgress(p) }}, nil
}

// egressPolicy compiles cfg's egress policy, refusing the gateway's listeners: those it listens
// on once started, those cfg names before.
func (g *Gateway) egressPolicy(cfg *config.File) (*egress.Policy, error) {
	p, err := cfg.EgressPolicy()
	data, admin := g.srv.DataAddr(), g.srv.AdminAddr()
	if err != nil || data == "" || admin == "" {
		return p, err
	}
	return p.WithListeners(egress.ListenerAddrs(data, admin), egress.LocalAddrs()), nil
}

// setProviders gives the engine each provider's defaults (API key, key hosts, headers).
func (g *Gateway) setProviders(cfg *config.File) {
	defaults := make(map[string]provider.Defaults, len(cfg.Providers))
	for name, p := range cfg.Providers {
		defaults[name] = provider.Defaults{APIKey: p.APIKey, KeyHosts: p.KeyHosts, Headers: p.Headers}
	}
	g.Engine.SetProviders(defaults)
}

// prepareModels checks the config's models against the registry.
func (g *Gateway) prepareModels(_ context.Context, cfg *config.File) (Change, error) {
	models, err := g.Registry.PrepareConfig(cfg.Models)
	if err != nil {
		return nil, err
	}
	return prepared{commit: func() {
		g.Registry.CommitConfig(models)
		for _, id := range g.Registry.ConfigShadowed() {
			g.log.Warn("a config model hides the API-registered model with the same id", "model", id)
		}
	}}, nil
}

// prepareKeys checks the config's keys, generating the values they leave empty.
func (g *Gateway) prepareKeys(_ context.Context, cfg *config.File) (Change, error) {
	keys, generated, err := g.Keys.PrepareConfig(cfg.Keys)
	if err != nil {
		return nil, err
	}
	return prepared{commit: func() {
		g.Keys.CommitConfig(keys)
		g.generated = append(g.generated, generated...)
	}}, nil
}

// prepareAdminToken hashes the configured admin token, or generates one at first start.
func (g *Gateway) prepareAdminToken(_ context.Context, cfg *config.File) (Change, error) {
	hash, value, err := policy.AdminToken(g.Store, cfg.Admin.Token, keepCredential(cfg.Server.DataDir))
	if err != nil {
		return nil, err
	}
	return prepared{commit: func() {
		g.srv.SetAdminHash(hash)
		if value != "" {
			g.generated = append([]policy.Generated{{Name: "admin", Admin: true, Value: value}}, g.generated...)
		}
	}}, nil
}

// preparePlugins loads the new and changed plugins beside the running ones.
func (g *Gateway) preparePlugins(ctx context.Context, cfg *config.File) (Change, error) {
	ch, err := g.Hub.Prepare(ctx, cfg.Plugins)
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// setLimits sets the orgs' budgets.
func (g *Gateway) setLimits(cfg *config.File) {
	var budgets []policy.OrgBudget
	for _, o := range cfg.Orgs {
		if o.Budget != nil {
			budgets = append(budgets, policy.OrgBudget{Org: o.Name, Budget: *o.Budget})
		}
	}
	g.Limits.SetOrgBudgets(budgets)
}

// setRecords sets the log level and how long records are kept.
func (g *Gateway) setRecords(cfg *config.File) {
	if g.opts.LogLevel != nil {
		g.opts.LogLevel.Set(parseLevel(cfg.Log.Level))
	}
	g.Recorder.SetRetention(time.Duration(cfg.Records.RetentionHours) * time.Hour)
}

// setPipelines sets the config's pipelines and MCP servers, then warns of pipelines that cannot
// run.
func (g *Gateway) setPipelines(cfg *config.File) {
	g.Pipes.SetConfig(cfg.Pipelines)
	g.MCP.SetConfig(cfg.MCPServers)
	for _, e := range g.Pipes.List() {
		if e.Plan == nil {
			g.log.Warn("pipeline cannot run", "pipeline", e.ID, "problems", e.Summary())
		}
	}
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}

// Reload reads the config file again and applies it; on any error the running config stays.
func (g *Gateway) Reload() error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.Metrics.Reloads.Inc()
	err := g.reloadLocked()
	st := &server.ReloadStatus{At: time.Now().UTC(), OK: err == nil}
	if err != nil {
		st.Error = err.Error()
		g.Metrics.ReloadErrors.Inc()
		g.log.Error("config reload failed; keeping the running config", "config", g.opts.ConfigPath, "err", err)
	} else {
		g.log.Info("config reloaded", "config", g.opts.ConfigPath)
	}
	g.srv.NoteReload(st)
	return err
}

func (g *Gateway) reloadLocked() error {
	cfg, err := config.Load(g.opts.ConfigPath, LoadOptions())
	if err != nil {
		return err
	}
	if g.opts.Overrides != nil {
		g.opts.Overrides(cfg)
	}
	old := g.cfg.Load()
	if cfg.Server.Listen != old.Server.Listen || cfg.Server.AdminListen != old.Server.AdminListen || cfg.Server.DataDir != old.Server.DataDir {
		g.log.Warn("listen addresses and the data dir change only on restart")
		cfg.Server.Listen, cfg.Server.AdminListen, cfg.Server.DataDir = old.Server.Listen, old.Server.AdminListen, old.Server.DataDir
	}
	return g.apply(cfg, false)
}

// watchConfig reloads when the config file's size or modification time changes.
func (g *Gateway) watchConfig() {
	defer g.wg.Done()
	stamp := func() string {
		st, err := os.Stat(g.opts.ConfigPath)
		if err != nil {
			return ""
		}
		return fmt.Sprint(st.Size(), st.ModTime().UnixNano())
	}
	last := stamp()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-g.stopWatch:
			return
		case <-t.C:
			if s := stamp(); s != last && s != "" {
				last = s
				_ = g.Reload()
			}
		}
	}
}
