package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/store"
)

const adminUsage = `Usage:
  iom admin reset-token [--config FILE | --data-dir DIR] [--key NAME]

Replaces the admin token the gateway generated on its first start (or, with --key, the value it
generated for the config's key NAME), prints the new one once and writes it to the data dir's
credentials file. Run it with the gateway stopped: it needs the store to itself.
`

func admin(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "reset-token" {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	var configPath, dataDir, key string
	fs := flag.NewFlagSet("admin reset-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&configPath, "config", "configs/iom.yaml", "config file (its server.dataDir)")
	fs.StringVar(&dataDir, "data-dir", "", "data directory (instead of the config's)")
	fs.StringVar(&key, "key", "", "reset the generated value of this config key instead of the admin token")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["config"] && set["data-dir"] || fs.NArg() > 0 {
		fmt.Fprint(stderr, "iom admin reset-token: give --config or --data-dir, not both, and no other arguments\n\n"+adminUsage)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "iom admin reset-token: %v\n", err)
		if errors.Is(err, store.ErrLocked) {
			fmt.Fprintln(stderr, "Stop the gateway, then run this again.")
		}
		return 1
	}
	if dataDir == "" {
		o := app.LoadOptions()
		o.CheckFiles = false // only the data dir and the credentials matter here
		cfg, err := config.Load(configPath, o)
		if err != nil {
			printConfigError(stderr, configPath, err)
			return 1
		}
		if err := generatedIn(cfg, key); err != nil {
			return fail(fmt.Errorf("%s: %w", configPath, err))
		}
		dataDir = cfg.Server.DataDir
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	value, err := app.ResetCredential(dataDir, key, log)
	if err != nil {
		return fail(err)
	}
	what := "admin token"
	if key != "" {
		what = fmt.Sprintf("value of key %q", key)
	}
	fmt.Fprintf(stdout, "New %s (shown only this once; kept in %s):\n\n    %s\n\nRestart the gateway to use it.\n",
		what, filepath.Join(dataDir, "credentials"), value)
	return 0
}

// generatedIn checks that cfg leaves the credential empty, so the gateway uses a generated one.
func generatedIn(cfg *config.File, key string) error {
	if key == "" {
		if cfg.Admin.Token.IsSet() {
			return errors.New("admin.token is set, so the gateway uses that token: change it there")
		}
		return nil
	}
	for _, k := range cfg.Keys {
		if k.Name == key {
			if k.Key.IsSet() {
				return fmt.Errorf("key %q has its value in the config: change it there", key)
			}
			return nil
		}
	}
	return fmt.Errorf("no key named %q", key)
}
