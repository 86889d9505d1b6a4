package wasm

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"
)

// Defaults for the quarantine settings left zero.
const (
	DefaultQuarantineAfter = 5
	DefaultQuarantineFor   = 10 * time.Second
)

// quarantine stops calling a plugin whose calls keep running out of time, each holding an
// instance and a core for the whole Timeout. After QuarantineAfter calls in a row stopped at the
// plugin's own Timeout, calls are refused (KindQuarantined) for QuarantineFor, then one trial call
// decides: a timeout quarantines again, any other end lifts it. A caller's deadline does not count,
// so a client with a short one cannot put the plugin out of service for everyone.
type quarantine struct {
	after    int32 // < 0: never
	cooldown time.Duration

	until  atomic.Int64 // when the cooldown ends, in Unix nanoseconds; 0: not quarantined
	trial  atomic.Bool  // a trial call is running
	streak atomic.Int32 // calls in a row stopped at Timeout
	count  atomic.Uint64
	// reason says why the plugin was quarantined, for refusals: *string.
	reason atomic.Pointer[string]
}

// admit is called before each call. It returns a refusal while the plugin is quarantined, and
// whether the call is the trial, for settle.
func (q *quarantine) admit(p *Plugin, export string) (trial bool, refusal *Error) {
	until := q.until.Load()
	if until == 0 {
		return false, nil
	}
	if left := time.Duration(until - time.Now().UnixNano()); left > 0 {
		e := newError(p.cfg.Name, export, KindQuarantined, "%s; refusing calls for another %s", *q.reason.Load(), left.Round(time.Millisecond))
		e.RetryAfter = left
		return false, e
	}
	if !q.trial.CompareAndSwap(false, true) {
		e := newError(p.cfg.Name, export, KindQuarantined, "%s; a trial call is running", *q.reason.Load())
		e.RetryAfter = p.cfg.Timeout
		return false, e
	}
	return true, nil
}

// settle records how an admitted call ended.
func (q *quarantine) settle(p *Plugin, trial bool, err error) {
	ranOut, ended := false, true
	if err != nil { // before e, which escapes to errors.As: a call that went well allocates nothing
		var e *Error
		ended = errors.As(err, &e) && (e.Kind == KindGuest || e.Kind == KindMalformed || e.Kind == KindTrap || e.Kind == KindMemory)
		ranOut = e != nil && e.ranOut
	}
	switch {
	case ranOut:
		if n := q.streak.Add(1); trial || q.after >= 0 && n >= q.after {
			q.enter(p, trial, int(n))
		}
	case ended: // the guest ended by itself
		if q.streak.Load() != 0 {
			q.streak.Store(0)
		}
		if trial {
			q.until.Store(0)
			p.log.Info("wasm plugin: out of quarantine, its trial call ended in time")
		}
	}
	// Anything else (busy, canceled, the caller's deadline, closed) says nothing of the guest.
	if trial {
		q.trial.Store(false)
	}
}

func (q *quarantine) enter(p *Plugin, trial bool, n int) {
	reason := "quarantined: " + strconv.Itoa(n) + " calls in a row ran out of time (timeout " + p.cfg.Timeout.String() + ")"
	if trial {
		reason = "quarantined: its trial call ran out of time too (timeout " + p.cfg.Timeout.String() + ")"
	}
	q.reason.Store(&reason)
	q.streak.Store(0)
	q.until.Store(time.Now().Add(q.cooldown).UnixNano())
	q.count.Add(1)
	p.log.Warn("wasm plugin: "+reason, "refusingFor", q.cooldown.String())
}
