// Command iom is the IoM gateway: `iom serve` runs it, `iom validate` checks a config file the
// way serve would load it, `iom admin reset-token` replaces a generated credential of a stopped
// gateway, `iom version` prints the version. It only parses flags and wires packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/hub"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `iom — the Internet of Models gateway

Usage:
  iom serve    [--config FILE] [--listen ADDR] [--admin-listen ADDR] [--data-dir DIR]
  iom validate [--config FILE]
  iom admin reset-token [--config FILE | --data-dir DIR] [--key NAME]
  iom version

The default config file is configs/iom.yaml.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "validate":
		return validate(args[1:], stdout, stderr)
	case "admin":
		return admin(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "iom", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "iom: unknown command %q\n\n%s", args[0], usage)
	return 2
}

type serveFlags struct {
	config, listen, adminListen, dataDir string
	logLevel, logFormat                  string
}

// check refuses flag values the config would refuse.
func (f *serveFlags) check() error {
	if f.logLevel != "" && !slices.Contains(config.LogLevels, f.logLevel) {
		return fmt.Errorf("--log-level: %q is not one of %s", f.logLevel, strings.Join(config.LogLevels, ", "))
	}
	if f.logFormat != "" && !slices.Contains(config.LogFormats, f.logFormat) {
		return fmt.Errorf("--log-format: %q is not one of %s", f.logFormat, strings.Join(config.LogFormats, ", "))
	}
	return nil
}

func (f *serveFlags) apply(c *config.File) {
	if f.logLevel != "" {
		c.Log.Level = f.logLevel
	}
	if f.logFormat != "" {
		c.Log.Format = f.logFormat
	}
	if f.listen != "" {
		c.Server.Listen = f.listen
	}
	if f.adminListen != "" {
		c.Server.AdminListen = f.adminListen
	}
	if f.dataDir != "" {
		c.Server.DataDir = f.dataDir
	}
}

func newFlagSet(name string, stderr io.Writer, f *serveFlags, withListen bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "configs/iom.yaml", "config file")
	if withListen {
		fs.StringVar(&f.listen, "listen", "", "data plane address (overrides server.listen)")
		fs.StringVar(&f.adminListen, "admin-listen", "", "admin address (overrides server.adminListen)")
		fs.StringVar(&f.dataDir, "data-dir", "", "data directory (overrides server.dataDir)")
		fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
		fs.StringVar(&f.logFormat, "log-format", "", "text or json (overrides log.format)")
	}
	return fs
}

func validate(args []string, stdout, stderr io.Writer) int {
	var f serveFlags
	if err := newFlagSet("validate", stderr, &f, false).Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(f.config, app.LoadOptions())
	if err != nil {
		printConfigError(stderr, f.config, err)
		return 1
	}
	// Plugins are loaded and checked as serve would; their own log lines stay out of the report.
	if err := hub.Check(cfg, slog.New(slog.DiscardHandler)); err != nil {
		printConfigError(stderr, f.config, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid\n", f.config)
	return 0
}

func printConfigError(w io.Writer, path string, err error) {
	var es decode.Errors
	if errors.As(err, &es) {
		fmt.Fprintf(w, "%s: %d error(s):\n", path, len(es))
		for _, e := range es {
			fmt.Fprintf(w, "  %s\n", e.Error())
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", path, err)
}

func serve(args []string, stdout, stderr io.Writer) int {
	var f serveFlags
	if err := newFlagSet("serve", stderr, &f, true).Parse(args); err != nil {
		return 2
	}
	if err := f.check(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg, err := config.Load(f.config, app.LoadOptions())
	if err != nil {
		printConfigError(stderr, f.config, err)
		return 1
	}
	f.apply(cfg)
	level := new(slog.LevelVar)
	var handler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if cfg.Log.Format == "json" {
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)
	slog.SetDefault(log)
	g, err := app.New(cfg, app.Options{ConfigPath: f.config, Version: version, Logger: log, LogLevel: level,
		Out: stdout, Overrides: f.apply})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := g.Start(); err != nil {
		log.Error("cannot start", "err", err)
		_ = g.Shutdown(context.Background())
		return 1
	}
	log.Info("iom is serving", "version", version, "data", "http://"+dialable(g.DataAddr())+"/v1", "admin", "http://"+dialable(g.AdminAddr())+"/",
		"config", f.config, "dataDir", cfg.Server.DataDir)

	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	for s := range sig {
		if s == syscall.SIGHUP {
			_ = g.Reload()
			continue
		}
		break
	}
	log.Info("shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// dialable turns a listening address into one a browser or curl can use: a wildcard host
// becomes localhost.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
