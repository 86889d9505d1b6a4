//go:build race

package provider

// raceEnabled: the race detector instruments every function, which deepens stacks.
const raceEnabled = true
