package policy

import (
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
)

// Shared keeps the counters of limits and budgets where every gateway node of a cluster sees
// them. While it fails, the Limiter serves on its own counters or refuses (see SetShared).
type Shared interface {
	// Admit checks one request against the counters and takes its rate token; when a.Hold is
	// set, it holds up to a.Hold.Micro of the budgets and answers how much in Verdict.Held.
	Admit(a *Admission) (Verdict, error)
	// Spent adds what a finished request used; when a.Hold is set, in place of what it held,
	// once for the hold's id.
	Spent(a *Admission, tokens int64, usd float64) error
	// Usage reads a key's spend this period and tokens this minute.
	Usage(a *Admission) (Usage, error)
}

// Admission is one request of a key, with the budgets and periods it counts against.
type Admission struct {
	Key *Key
	// KeyBudget and OrgBudget are the key's and its organisation's budgets, nil when none.
	KeyBudget, OrgBudget *spec.Budget
	// KeyPeriod and OrgPeriod start the budgets' current periods; Minute the current minute.
	KeyPeriod, OrgPeriod, Minute time.Time
	// Hold, when set, is the call's hold in the budgets (see Limiter.Reserve).
	Hold *Hold
}

// Refusal says which limit refused a request.
type Refusal int

// The limits a Shared may refuse on, in the order they are checked.
const (
	Admitted Refusal = iota
	RefusedRate
	RefusedTokens
	RefusedKeyBudget
	RefusedOrgBudget
)

// Verdict is a Shared's answer to Admit.
type Verdict struct {
	Refusal Refusal
	Wait    time.Duration // before the rate admits another request
	Used    int64         // tokens this minute
	// SpentMicro and HeldMicro are the refusing budget's spend this period and what calls in
	// flight hold of it.
	SpentMicro, HeldMicro int64
	// Held is what an admitted call holds of its budgets.
	Held int64
}

type sharedState struct {
	s      Shared
	refuse bool // refuse requests while s fails, rather than serve on local counters
	log    *slog.Logger
	down   atomic.Bool
}

// SetShared makes the limiter count on s; nil returns it to its own counters. While s fails,
// requests are refused with 503 when refuse is set, or else admitted on the limiter's own
// counters (limits then hold per node).
func (l *Limiter) SetShared(s Shared, refuse bool, log *slog.Logger) {
	if s == nil {
		l.shared.Store(nil)
		return
	}
	l.shared.Store(&sharedState{s: s, refuse: refuse, log: log})
}

// admitShared checks k's request against the shared counters, without holding l.mu across the
// round trip, and holds up to est micro-dollars of its budgets. ok is false when they failed
// and the local counters should decide.
func (l *Limiter) admitShared(sh *sharedState, k *Key, est int64) (h *Hold, fe *fault.Error, ok bool) {
	a := l.admissionNow(k)
	if lim := k.Limits; a.KeyBudget == nil && a.OrgBudget == nil && (lim == nil || lim.RPS == 0 && lim.TokensPerMinute == 0) {
		return nil, nil, true
	}
	if est > 0 && (a.KeyBudget != nil || a.OrgBudget != nil) {
		a.Hold = &Hold{ID: newHoldID(), Micro: est, shared: true}
		if a.KeyBudget != nil {
			a.Hold.keyScope = "key:" + k.ID
		}
		if a.OrgBudget != nil {
			a.Hold.orgScope = "org:" + k.Org
		}
	}
	v, err := sh.s.Admit(a)
	if err == nil {
		sh.answered()
		if fe = verdictFault(k, a, v); fe != nil || a.Hold == nil || v.Held <= 0 {
			return nil, fe, true
		}
		a.Hold.Micro = v.Held
		a.Hold.Expires = l.now().Add(HoldTTL)
		return a.Hold, nil, true
	}
	sh.failed(err)
	if sh.refuse {
		return nil, errSharedDown(), true
	}
	return nil, nil, false
}

func (l *Limiter) admissionNow(k *Key) *Admission {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.admission(k, l.now())
}

// admission describes k's request at now; the caller holds l.mu.
func (l *Limiter) admission(k *Key, now time.Time) *Admission {
	a := &Admission{Key: k, Minute: now.Truncate(time.Minute)}
	if k.Limits != nil && k.Limits.Budget != nil {
		a.KeyBudget = k.Limits.Budget
		a.KeyPeriod = PeriodStart(a.KeyBudget.Period, now)
	}
	if b, ok := l.orgs[k.Org]; ok && k.Org != "" {
		a.OrgBudget = &b
		a.OrgPeriod = PeriodStart(b.Period, now)
	}
	return a
}

// failed notes that the shared counters failed, logging only the first failure of an outage.
func (sh *sharedState) failed(err error) {
	if sh.down.CompareAndSwap(false, true) {
		sh.log.Warn("limits: the shared counters do not answer", "err", err.Error(), "refusing", sh.refuse)
	}
}

func (sh *sharedState) answered() {
	if sh.down.CompareAndSwap(true, false) {
		sh.log.Info("limits: the shared counters answer again")
	}
}

// errSharedDown refuses a request while the shared counters are unreachable and the cluster
// is set to refuse then.
func errSharedDown() *fault.Error {
	return fault.ClusterDown("the gateway cannot reach the cluster's shared limits; try again shortly")
}

// verdictFault turns a Shared's refusal into the error the local counters would give.
func verdictFault(k *Key, a *Admission, v Verdict) *fault.Error {
	switch v.Refusal {
	case RefusedRate:
		return fault.Limited(max(int(math.Ceil(v.Wait.Seconds())), 1), "key %q is limited to %v requests per second", k.Name, k.Limits.RPS)
	case RefusedTokens:
		wait := int(math.Ceil(a.Minute.Add(time.Minute).Sub(time.Now()).Seconds()))
		return fault.Limited(max(wait, 1), "key %q has used %d of its %d tokens this minute", k.Name, v.Used, k.Limits.TokensPerMinute)
	case RefusedKeyBudget:
		return budgetFault("key "+k.Name, *a.KeyBudget, a.KeyPeriod, v.SpentMicro, v.HeldMicro)
	case RefusedOrgBudget:
		return budgetFault("organisation "+k.Org, *a.OrgBudget, a.OrgPeriod, v.SpentMicro, v.HeldMicro)
	}
	return nil
}

// budgetFault refuses a request over budget, saying what was spent and what calls in flight hold.
func budgetFault(who string, b spec.Budget, start time.Time, spent, held int64) *fault.Error {
	if held > 0 {
		return fault.OverBudget("%s has spent $%.4f of its $%.2f %s budget and calls in flight hold $%.4f more; it resets at %s",
			who, float64(spent)/1e6, b.USD, periodName(b.Period), float64(held)/1e6, PeriodEnd(b.Period, start).Format(time.RFC3339))
	}
	return fault.OverBudget("%s has spent $%.4f of its $%.2f %s budget; it resets at %s", who, float64(spent)/1e6, b.USD,
		periodName(b.Period), PeriodEnd(b.Period, start).Format(time.RFC3339))
}
