package wasm

import (
	"fmt"
	"strconv"
	"time"
)

// Kind says what went wrong in a plugin call. The gateway maps every kind to its plugin fault;
// the kind is for logs, metrics and tests.
type Kind uint8

const (
	// KindLoad: the module could not be read, compiled or instantiated.
	KindLoad Kind = iota + 1
	// KindABI: the module does not follow ABI v1 (missing or wrong version, a missing or
	// mistyped export, a role it does not export).
	KindABI
	// KindTrap: the guest trapped (unreachable, out-of-bounds access, stack overflow) or exited.
	KindTrap
	// KindTimeout: the call ran past its deadline and was stopped.
	KindTimeout
	// KindCanceled: the caller gave up (its context was canceled) while the call ran or waited.
	KindCanceled
	// KindMemory: the guest ran out of memory under its cap, or could not allocate the input.
	KindMemory
	// KindGuest: the guest answered with an error object.
	KindGuest
	// KindMalformed: the guest's output is not valid JSON or not the shape its role requires.
	KindMalformed
	// KindClosed: the plugin or host was closed.
	KindClosed
	// KindBusy: every instance is in use and the queue of calls waiting for one is full.
	KindBusy
	// KindQuarantined: the plugin's calls kept running out of time, so it refuses calls for a
	// while (Config.QuarantineAfter, QuarantineFor); Error.RetryAfter says for how long.
	KindQuarantined
)

var kindNames = [...]string{"", "load", "abi", "trap", "timeout", "canceled", "memory", "guest", "malformed", "closed", "busy", "quarantined"}

// String returns the kind's label, e.g. "timeout".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// Error is every error a plugin load or call returns.
type Error struct {
	Plugin string // the plugin's configured name
	Export string // the export being called, empty at load
	Kind   Kind
	// Message says what happened, in the guest's words for KindGuest.
	Message string
	// Code is the guest's machine-readable code (KindGuest), e.g. "json_guard".
	Code string
	// Status is the HTTP status the guest's error object gave (KindGuest), 0 when none: from
	// iom_adapter_response the upstream's, from other roles a refusal (ABI.md §5).
	Status int
	// RetryAfter is how long a KindQuarantined plugin will go on refusing calls.
	RetryAfter time.Duration

	// ranOut is set when the guest ran for the plugin's whole Timeout (or InitTimeout) and was
	// stopped: what quarantine counts. A caller's deadline does not set it.
	ranOut bool
}

func (e *Error) Error() string {
	s := "wasm plugin " + strconv.Quote(e.Plugin)
	if e.Export != "" {
		s += " " + e.Export
	}
	s += ": " + e.Kind.String() + ": " + e.Message
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	return s
}

func newError(plugin, export string, kind Kind, format string, args ...any) *Error {
	return &Error{Plugin: plugin, Export: export, Kind: kind, Message: fmt.Sprintf(format, args...)}
}
