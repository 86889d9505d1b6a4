package plugins

import (
	"os"
	"slices"
	"strings"
)

// passedEnv are the variables of the gateway's environment a plugin inherits: what programs
// need to run, find files, speak TLS and use a proxy. The rest (API keys, the master key) stays
// with the gateway; a plugin that needs more gets it through its config's Env.
var passedEnv = []string{
	"PATH", "HOME", "USER", "TMPDIR", "TZ", "LANG", "LC_ALL", "LC_CTYPE",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
}

// defaultEnv is set for every plugin unless its config's Env sets the same variable.
// GOMAXPROCS=1 because a call's round trip is mostly the two Go runtimes waking threads, and a
// plugin with one thread wakes far fewer; a plugin that needs more cores sets it in its Env.
var defaultEnv = []string{"GOMAXPROCS=1"}

// BaseEnv is what a child process of the gateway inherits of its environment (the passedEnv
// variables that are set), with room for extra more; process plugins and stdio MCP servers
// both start from it.
func BaseEnv(extra int) []string {
	env := make([]string, 0, len(passedEnv)+extra)
	for _, k := range passedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func pluginEnv(extra []string) []string {
	env := BaseEnv(len(defaultEnv) + len(extra))
	for _, kv := range defaultEnv {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(extra, func(e string) bool { return strings.HasPrefix(e, name+"=") }) {
			env = append(env, kv)
		}
	}
	for _, kv := range extra {
		if strings.Contains(kv, "=") {
			env = append(env, kv)
		}
	}
	return env
}
