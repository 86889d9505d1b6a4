// Package spec holds what the config file and the admin API declare: models, keys, budgets,
// pipelines and MCP servers, as plain types with their validation. It knows nothing of how they
// run, so the config loader and tools that read configs depend on no store, server or runtime;
// the runtime packages (registry, policy, pipeline, mcp) use these types as they are.
package spec
