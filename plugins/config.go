package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// Config is one process plugin. The gateway's config package owns the file format and fills
// these in.
type Config struct {
	// Name identifies the plugin: models name it as provider "plugin:<name>", transform chains
	// and pipeline steps by name.
	Name string
	// Path is the plugin's executable; a relative path is taken from the working directory.
	Path string
	Args []string
	// Env is added to the plugin's environment as KEY=value entries. The gateway's own
	// environment, which holds its secrets, is not passed on: a plugin gets only PATH, HOME,
	// TMPDIR, the locale, TZ, the TLS certificate and proxy variables, GOMAXPROCS=1 unless
	// these set it (see defaultEnv), and these.
	Env []string
	// SHA256, when set, is the hex digest the executable must have: a plugin whose file differs is
	// refused at load, and at every restart (through go-plugin's SecureConfig).
	SHA256 string
	// Role is "provider" or "transformer"; empty takes whatever the plugin serves (one process
	// may serve both), learnt from gRPC reflection when it starts.
	Role string
	// Config is passed to the plugin with every provider call (transform envelopes carry the
	// config the gateway puts in them). Changing it on reload does not restart the plugin.
	Config json.RawMessage
	// Timeout, when positive, caps one call (for a stream: the wait for each chunk) on top of the
	// caller's context deadline, which is the model's timeout. Changing it on reload does not
	// restart the plugin.
	Timeout time.Duration
	// MaxConcurrent caps the calls the plugin runs at once, unary calls and open streams alike;
	// 0 means DefaultMaxConcurrent. When that many are running, as many more calls again may
	// wait for a place, each for QueueWait at most and never past its deadline; a call beyond
	// those, or whose wait ends, fails at once with a Busy *Error wrapping ErrBusy. Changing it
	// on reload does not restart the plugin.
	MaxConcurrent int
}

// settings are the parts of a Config that change without a restart.
type settings struct {
	config        json.RawMessage
	timeout       time.Duration
	maxConcurrent int
}

func (c *Config) settings() *settings {
	limit := c.MaxConcurrent
	if limit == 0 {
		limit = DefaultMaxConcurrent
	}
	return &settings{config: c.Config, timeout: c.Timeout, maxConcurrent: limit}
}

// checked is a Config that passed Check, with what checking found out.
type checked struct {
	Config
	sum string // the executable's SHA-256, hex
}

// sameProcess reports whether a and b describe the same running process, so a reload can keep
// it. The binary's digest counts even without a configured SHA256: a rebuilt plugin is reloaded.
func (a checked) sameProcess(b checked) bool {
	return a.Path == b.Path && slices.Equal(a.Args, b.Args) && slices.Equal(a.Env, b.Env) &&
		a.SHA256 == b.SHA256 && a.Role == b.Role && a.sum == b.sum
}

// Check validates plugin configs without starting anything: unique names, an executable file
// for each, a known role, and, where a SHA256 is given, a matching file (a *ChecksumError
// otherwise). It reports every problem, each naming its plugin.
func Check(cfgs []Config) error {
	_, err := check(cfgs)
	return err
}

func check(cfgs []Config) ([]checked, error) {
	var errs []error
	out := make([]checked, 0, len(cfgs))
	seen := map[string]bool{}
	for i, c := range cfgs {
		c.Role = strings.ToLower(strings.TrimSpace(c.Role))
		c.SHA256 = strings.ToLower(strings.TrimSpace(c.SHA256))
		switch {
		case c.Name == "":
			errs = append(errs, fmt.Errorf("plugins[%d]: name is required", i))
			continue
		case seen[c.Name]:
			errs = append(errs, fmt.Errorf("plugin %q: defined twice", c.Name))
			continue
		}
		seen[c.Name] = true
		if c.Role != "" && c.Role != pluginpb.RoleProvider && c.Role != pluginpb.RoleTransformer {
			errs = append(errs, fmt.Errorf("plugin %q: role %q is neither %q nor %q", c.Name, c.Role,
				pluginpb.RoleProvider, pluginpb.RoleTransformer))
			continue
		}
		if c.SHA256 != "" {
			if b, err := hex.DecodeString(c.SHA256); err != nil || len(b) != sha256.Size {
				errs = append(errs, fmt.Errorf("plugin %q: sha256 %q is not 64 hex digits", c.Name, c.SHA256))
				continue
			}
		}
		if c.Timeout < 0 {
			errs = append(errs, fmt.Errorf("plugin %q: timeout %s is negative", c.Name, c.Timeout))
			continue
		}
		if c.MaxConcurrent < 0 {
			errs = append(errs, fmt.Errorf("plugin %q: maxConcurrent %d is negative", c.Name, c.MaxConcurrent))
			continue
		}
		if len(c.Config) > 0 && !json.Valid(c.Config) {
			errs = append(errs, fmt.Errorf("plugin %q: config is not valid JSON", c.Name))
			continue
		}
		if c.Path == "" {
			errs = append(errs, fmt.Errorf("plugin %q: path is required", c.Name))
			continue
		}
		abs, err := filepath.Abs(c.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("plugin %q: %w", c.Name, err))
			continue
		}
		c.Path = abs
		sum, err := fileSHA256(abs)
		if err != nil {
			errs = append(errs, fmt.Errorf("plugin %q: %w", c.Name, err))
			continue
		}
		if c.SHA256 != "" && sum != c.SHA256 {
			errs = append(errs, &ChecksumError{Plugin: c.Name, Path: abs, Want: c.SHA256, Got: sum})
			continue
		}
		c.Args = slices.Clone(c.Args)
		c.Env = slices.Clone(c.Env)
		c.Config = slices.Clone(c.Config)
		out = append(out, checked{Config: c, sum: sum})
	}
	return out, errors.Join(errs...)
}

// fileSHA256 hashes an executable regular file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot open executable: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("cannot stat executable: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("cannot read executable: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
