package plugins

import (
	"os"
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

func pluginEnv(extra []string) []string {
	env := make([]string, 0, len(passedEnv)+len(extra))
	for _, k := range passedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for _, kv := range extra {
		if strings.Contains(kv, "=") {
			env = append(env, kv)
		}
	}
	return env
}
