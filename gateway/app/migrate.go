package app

import "github.com/iomhq/iom/gateway/spec"

// migrateAllowedKeys gives the models registered through the API by earlier releases, whose
// allowedKeys could name keys, key ids instead (see policy.Keyring.MigrateAllowed). It runs at
// start, once the config's keys are known and before anything is served; a name that more than
// one key has stops the start.
func (g *Gateway) migrateAllowedKeys() error {
	changed, err := g.Registry.MigrateAllowedKeys(func(m *spec.Model) ([]string, error) {
		ids, dropped, err := g.Keys.MigrateAllowed(m.ID, m.AllowedKeys)
		for _, e := range dropped {
			g.log.Warn("dropped an allowedKeys entry that names no key", "model", m.ID, "entry", e)
		}
		return ids, err
	})
	for _, id := range changed {
		g.log.Info("allowedKeys of a stored model now holds key ids", "model", id)
	}
	return err
}
