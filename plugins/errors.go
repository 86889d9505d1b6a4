package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// A call returns one of two error types. *UpstreamError: a provider plugin worked, but the
// upstream behind it failed; the gateway treats it as a provider fault, like a built-in adapter's
// upstream failure. *Error: the plugin itself failed, or the host could not reach it; the
// gateway reports a plugin fault, and may answer with a fallback model instead.

// ErrorKind says what went wrong with a plugin call.
type ErrorKind uint8

const (
	// Failed: the plugin answered with an error of its own (a bug, a panic, a bad answer).
	Failed ErrorKind = iota + 1
	// Crashed: the plugin process died, or the host lost its connection to it, during the call.
	// The host restarts it; a new call may succeed.
	Crashed
	// Timeout: the call's deadline (the caller's, or the plugin's Timeout) passed before the
	// plugin answered. The error wraps context.DeadlineExceeded.
	Timeout
	// Canceled: the caller gave up first. The error wraps context.Canceled.
	Canceled
	// Unavailable: the call never reached a plugin: none by that name (ErrNotFound), it plays
	// no such role (ErrWrongRole), it is stopped (ErrClosed), it keeps failing to start, or it
	// was restarting and not back before the deadline.
	Unavailable
	// Busy: the call never reached the plugin because it already runs as many calls as it may
	// (Config.MaxConcurrent) and no place freed in time (see QueueWait). The error wraps
	// ErrBusy. The plugin is fine, only full: a caller maps it to 503 (or 429) with a
	// Retry-After of BusyRetryAfter, or tries a fallback model.
	Busy
)

var kindNames = [...]string{"", "failed", "crashed", "timeout", "canceled", "unavailable", "busy"}

func (k ErrorKind) String() string {
	if int(k) < len(kindNames) && k > 0 {
		return kindNames[k]
	}
	return "unknown"
}

var (
	// ErrNotFound: no plugin by that name is loaded.
	ErrNotFound = errors.New("no such plugin")
	// ErrWrongRole: the plugin does not play the role the call needs.
	ErrWrongRole = errors.New("plugin does not play that role")
	// ErrClosed: the manager has shut down, or the plugin was removed from the config.
	ErrClosed = errors.New("plugin manager closed")
	// ErrBusy: the plugin has no place for another call (an *Error of kind Busy wraps it).
	ErrBusy = errors.New("plugin busy")
)

// BusyRetryAfter is how long a caller refused with ErrBusy should wait before trying again:
// the Retry-After the gateway sends with it.
const BusyRetryAfter = time.Second

// Error is a failure of a plugin, or of the host's link to it.
type Error struct {
	Plugin string
	Kind   ErrorKind
	// Code is the gRPC code the plugin answered with, for Failed (e.g. "Internal" for a panic).
	Code    string
	Message string
	// Err is the cause, if any: a context error, or one of the Err* sentinels.
	Err error
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// UpstreamError is a failure of a provider plugin's upstream, as the plugin reported it (see
// UpstreamError in plugin.proto).
type UpstreamError struct {
	Plugin string
	// Status is the upstream's HTTP status, or 0 when it could not be reached or timed out.
	Status  int
	Message string
	Code    string
	// Body is the upstream's own OpenAI error object, to pass on to the client, or nil.
	Body []byte
	// RetryAfter is the upstream's Retry-After in seconds, or 0.
	RetryAfter int
}

func (e *UpstreamError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("plugin %q: upstream unreachable: %s", e.Plugin, e.Message)
	}
	return fmt.Sprintf("plugin %q: upstream returned HTTP %d: %s", e.Plugin, e.Status, e.Message)
}

// ChecksumError refuses a plugin whose executable is not the one its config names.
type ChecksumError struct {
	Plugin, Path string
	Want, Got    string // hex SHA-256 digests: the config's, and the file's
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("plugin %q: refusing %s: its sha256 is %s but the config expects %s",
		e.Plugin, e.Path, e.Got, e.Want)
}

// callError turns what a gRPC call returned into one of our error types. budget is how long the
// call was allowed to take, for the timeout message.
func (s *slot) callError(ctx context.Context, p *process, err error, budget time.Duration) error {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if ue, ok := d.(*pluginpb.UpstreamError); ok {
			return &UpstreamError{Plugin: s.cfg.Name, Status: int(ue.Status), Message: ue.Message,
				Code: ue.Code, Body: ue.Body, RetryAfter: int(ue.RetryAfterSeconds)}
		}
	}
	switch cerr := ctx.Err(); {
	case errors.Is(cerr, context.DeadlineExceeded):
		return s.timeoutError(budget)
	case cerr != nil:
		return &Error{Plugin: s.cfg.Name, Kind: Canceled, Err: context.Canceled,
			Message: fmt.Sprintf("plugin %q: call canceled by the caller", s.cfg.Name)}
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled:
		// Plugins must not send these codes (see plugin.proto; the author kit never does), and
		// the caller did not cancel: the connection broke. Take the process out of service at
		// once, so no other call is sent to it, and have the supervisor replace it.
		msg := fmt.Sprintf("plugin %q (pid %d) exited during the call", s.cfg.Name, p.pid)
		if !p.exitedWithin(100 * time.Millisecond) {
			msg = fmt.Sprintf("plugin %q (pid %d): lost the connection during the call: %s", s.cfg.Name, p.pid, st.Message())
		}
		s.crashed(p, msg)
		return &Error{Plugin: s.cfg.Name, Kind: Crashed, Message: msg}
	case codes.DeadlineExceeded:
		return s.timeoutError(budget)
	}
	msg := st.Message()
	if msg == "" {
		msg = st.Code().String()
	}
	return &Error{Plugin: s.cfg.Name, Kind: Failed, Code: st.Code().String(),
		Message: fmt.Sprintf("plugin %q failed: %s", s.cfg.Name, strings.TrimSpace(msg))}
}

func (s *slot) timeoutError(budget time.Duration) *Error {
	msg := fmt.Sprintf("plugin %q did not answer within %s", s.cfg.Name, budget.Round(time.Millisecond))
	if budget <= 0 {
		// No deadline of ours: the plugin gave up on something of its own.
		msg = fmt.Sprintf("plugin %q timed out", s.cfg.Name)
	}
	return &Error{Plugin: s.cfg.Name, Kind: Timeout, Err: context.DeadlineExceeded, Message: msg}
}

func unavailable(name string, cause error, format string, args ...any) *Error {
	return &Error{Plugin: name, Kind: Unavailable, Err: cause, Message: fmt.Sprintf(format, args...)}
}
