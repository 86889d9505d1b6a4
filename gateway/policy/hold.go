package policy

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/fault"
)

// Budget holds: a metered call sets aside its worst cost in its key's and organisation's budgets
// when it is admitted, so that calls running at once cannot together spend past a budget; when
// it ends, what it held is replaced by what it cost.
const (
	// HoldTTL is how long a hold lasts when its call never ends (its node crashed): it then
	// lapses and the budget is free again. A call still running when its hold lapses is counted
	// when it ends all the same.
	HoldTTL = 10 * time.Minute
	// DefaultOutputTokens is the output a call is assumed to produce, for its hold, when it
	// names no max_tokens, max_completion_tokens or max_output_tokens.
	DefaultOutputTokens = 4096
)

// Hold is what one call in flight holds of its budgets, in micro-dollars: its estimated cost,
// or what the budgets had left when that was less. The same amount is held in the key's budget
// and in its organisation's, where each has one.
type Hold struct {
	// ID settles the hold once, wherever the settlement is retried.
	ID      string
	Micro   int64
	Expires time.Time
	// shared: the hold is in the shared counters, not this node's.
	shared             bool
	keyScope, orgScope string // of the local counters; also tell which budgets a shared hold is in
	settled            atomic.Bool
}

// Micro converts dollars to the integer micro-dollars budgets are counted in.
func Micro(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

func newHoldID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Holds says whether a call of k would hold budget: whether k or its organisation has one. The
// caller estimates a call's cost only then.
func (l *Limiter) Holds(k *Key) bool {
	if k.Limits != nil && k.Limits.Budget != nil {
		return true
	}
	if k.Org == "" || !l.anyOrg.Load() {
		return false
	}
	l.mu.Lock()
	_, ok := l.orgs[k.Org]
	l.mu.Unlock()
	return ok
}

// Reserve admits one call of k, as Admit does, and holds estimateUSD of the key's and its org's
// budgets until the call ends. An estimate that does not fit beside the spend and the holds is
// admitted only while something is left and nothing is held, and holds the rest, so a budget is
// passed only by a call's cost beyond its hold (OnOverspend). The key returned goes to Spent, or
// to Release when the call failed or hit the cache; it is k when nothing is held.
func (l *Limiter) Reserve(k *Key, estimateUSD float64) (*Key, *fault.Error) {
	h, fe := l.admit(k, Micro(estimateUSD))
	if fe != nil || h == nil {
		return k, fe
	}
	c := *k
	c.hold = h
	return &c, nil
}

// Release frees what k's call holds, unless Spent settled it already. It is safe on any key.
func (l *Limiter) Release(k *Key) {
	h := k.hold
	if h == nil || !h.settled.CompareAndSwap(false, true) {
		return
	}
	if h.shared {
		if sh := l.shared.Load(); sh != nil {
			a := l.admissionNow(k)
			a.Hold = h
			if err := sh.s.Spent(a, 0, 0); err != nil {
				sh.failed(err)
			}
		}
		return
	}
	l.mu.Lock()
	l.unholdLocked(h)
	l.mu.Unlock()
}

// unholdLocked takes h off the local counters; the caller holds l.mu.
func (l *Limiter) unholdLocked(h *Hold) {
	if _, ok := l.holds[h]; !ok {
		return // lapsed
	}
	delete(l.holds, h)
	for _, s := range [2]string{h.keyScope, h.orgScope} {
		if s != "" {
			if l.held[s] -= h.Micro; l.held[s] <= 0 {
				delete(l.held, s)
			}
		}
	}
}

// lapse drops the local holds past their time.
func (l *Limiter) lapse() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for h := range l.holds {
		if now.After(h.Expires) {
			l.unholdLocked(h)
		}
	}
}
