package registry

import "github.com/iomhq/iom/gateway/spec"

// The declared model and its parts live in package spec; the registry serves them under these
// names.
type (
	Breaker     = spec.Breaker
	Cache       = spec.Cache
	Concurrency = spec.Concurrency
	Entry       = spec.Entry
	HTTPSpec    = spec.HTTPSpec
	HealthCheck = spec.HealthCheck
	Model       = spec.Model
	Replica     = spec.Replica
	Retry       = spec.Retry
	Schema      = spec.Schema
	Transforms  = spec.Transforms
)

const (
	AutoModel         = spec.AutoModel
	DefaultOrg        = spec.DefaultOrg
	ManagedByAPI      = spec.ManagedByAPI
	ManagedByConfig   = spec.ManagedByConfig
	Organization      = spec.Organization
	PipelinePrefix    = spec.PipelinePrefix
	Private           = spec.Private
	Public            = spec.Public
	StatusAvailable   = spec.StatusAvailable
	StatusDegraded    = spec.StatusDegraded
	StatusUnavailable = spec.StatusUnavailable
)

var (
	DefaultEndpoints = spec.DefaultEndpoints
	HTTPRequestVars  = spec.HTTPRequestVars
	HTTPResponseVars = spec.HTTPResponseVars
	LoadBalancings   = spec.LoadBalancings
	ModelTypes       = spec.ModelTypes
	AWSKey           = spec.AWSKey
	CompileSchema    = spec.CompileSchema
	InferProvider    = spec.InferProvider
	NeedsEndpoint    = spec.NeedsEndpoint
	NewEntry         = spec.NewEntry
	Slug             = spec.Slug
)
