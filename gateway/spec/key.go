package spec

import (
	"regexp"
	"slices"
	"strings"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/secret"
)

// KeyConfig is a gateway key as the config file declares it. Its id is ConfigKeyID(Name).
type KeyConfig struct {
	Name string        `json:"name"`
	Key  secret.Secret `json:"key"`
	// Org defaults to DefaultOrg.
	Org string `json:"org,omitempty"`
	// Models, when set, is the only models (and pipelines, as pipeline:<id>) the key may use.
	Models []string `json:"models,omitempty"`
	Limits *Limits  `json:"limits,omitempty"`
}

// Limits bound what one key may do.
type Limits struct {
	// RPS is the sustained request rate; Burst (default: RPS, at least 1) is how many may come at once.
	RPS   float64 `json:"rps,omitempty"`
	Burst int     `json:"burst,omitempty"`
	// TokensPerMinute bounds input+output tokens in each calendar minute: a request is admitted
	// while the minute's count is below the limit.
	TokensPerMinute int64   `json:"tokensPerMinute,omitempty"`
	Budget          *Budget `json:"budget,omitempty"`
}

// Budget bounds spend over a period: a request is admitted while the period's spend, and what
// calls in flight hold of it, are below it (see Limiter.Reserve).
type Budget struct {
	USD float64 `json:"usd"`
	// Period is day, week (from Monday) or month (default), in UTC.
	Period string `json:"period,omitempty"`
}

// ConfigKeyIDPrefix starts the id of every key of the config file.
const ConfigKeyIDPrefix = "config:"

// ConfigKeyID is the id of the config file's key named name: "config:" and the name. It does
// not depend on the key's org or value, so a model that allows the key keeps allowing it when
// either changes.
func ConfigKeyID(name string) string { return ConfigKeyIDPrefix + name }

var keyNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidKeyName reports whether name may name a key: 1-64 letters, digits or ._-, starting with
// a letter or digit.
func ValidKeyName(name string) bool { return keyNamePattern.MatchString(name) }

// ValidateKeys checks the config's keys, with paths under base.
func ValidateKeys(base string, keys []KeyConfig, es *decode.Errors) {
	seen := map[string]bool{}
	for i, kc := range keys {
		p := decode.Index(base, i)
		switch {
		case !ValidKeyName(kc.Name):
			es.Add(decode.Join(p, "name"), "%q must be 1-64 letters, digits or ._- and start with a letter or digit", kc.Name)
		case seen[kc.Name]:
			es.Add(decode.Join(p, "name"), "duplicate key name %q", kc.Name)
		}
		seen[kc.Name] = true
		if v := kc.Key.Reveal(); v != "" && len(v) < 16 {
			es.Add(decode.Join(p, "key"), "is too short: use at least 16 characters (or leave it empty to have one generated)")
		}
		ValidateLimits(decode.Join(p, "limits"), kc.Limits, es)
	}
}

var periods = []string{"day", "week", "month"}

// ValidateLimits checks limits, with paths under base.
func ValidateLimits(base string, l *Limits, es *decode.Errors) {
	if l == nil {
		return
	}
	if l.RPS < 0 {
		es.Add(decode.Join(base, "rps"), "must not be negative")
	}
	if l.Burst < 0 {
		es.Add(decode.Join(base, "burst"), "must not be negative")
	}
	if l.TokensPerMinute < 0 {
		es.Add(decode.Join(base, "tokensPerMinute"), "must not be negative")
	}
	ValidateBudget(decode.Join(base, "budget"), l.Budget, es)
}

// ValidateBudget checks a budget, with paths under base.
func ValidateBudget(base string, b *Budget, es *decode.Errors) {
	if b == nil {
		return
	}
	if b.USD <= 0 {
		es.Add(decode.Join(base, "usd"), "must be positive, got %v", b.USD)
	}
	if b.Period != "" && !slices.Contains(periods, b.Period) {
		es.Add(decode.Join(base, "period"), "%q is not one of %s", b.Period, strings.Join(periods, ", "))
	}
}
