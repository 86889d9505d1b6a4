package policy

import "github.com/iomhq/iom/gateway/spec"

// The declared key and its limits live in package spec; the policy enforces them under these
// names.
type (
	KeyConfig = spec.KeyConfig
	Limits    = spec.Limits
	Budget    = spec.Budget
)

var (
	ConfigKeyID    = spec.ConfigKeyID
	ValidateKeys   = spec.ValidateKeys
	ValidateLimits = spec.ValidateLimits
	ValidateBudget = spec.ValidateBudget
)
