package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
)

// OrgBudget is an organisation's budget, shared by all its keys.
type OrgBudget struct {
	Org    string      `json:"org"`
	Budget spec.Budget `json:"budget"`
}

// Limiter enforces rate limits, token limits and budgets. Its state is in memory; spend is saved
// to the store every few seconds and on Close, so budgets survive restarts.
type Limiter struct {
	mu      sync.Mutex
	st      *store.Store
	now     func() time.Time
	buckets map[string]*bucket
	minutes map[string]*minute
	spend   map[string]*spend // "key:<id>" or "org:<name>"
	held    map[string]int64  // micro-dollars held by calls in flight, by the same scopes
	holds   map[*Hold]struct{}
	orgs    map[string]spec.Budget
	anyOrg  atomic.Bool // orgs is not empty: a key without limits of its own needs no lock
	dirty   map[string]bool
	shared  atomic.Pointer[sharedState]
	// OnOverspend, when set before the first call, is told of each call that cost more than it
	// held, with the scope (key or org) and the difference in dollars.
	OnOverspend func(scope string, usd float64)
	stop        chan struct{}
	done        chan struct{}
}

type bucket struct {
	tokens float64
	last   time.Time
}

type minute struct {
	start time.Time
	used  int64
}

// spend is a budget's spend in its current period, in integer micro-dollars so that sums are
// exact (ten calls of $0.10 make $1.00, not a hair less).
type spend struct {
	Period time.Time `json:"period"`
	Micro  int64     `json:"micro"`
	// Over is what calls cost beyond what they held this period.
	Over int64 `json:"overMicro,omitempty"`
	// USD is read from stores written before spend was counted in micro-dollars.
	USD float64 `json:"usd,omitempty"`
}

var spendPrefix = []byte("spend/")

// NewLimiter loads saved spend and starts saving it.
func NewLimiter(st *store.Store) (*Limiter, error) {
	l := &Limiter{st: st, now: time.Now, buckets: map[string]*bucket{}, minutes: map[string]*minute{},
		spend: map[string]*spend{}, held: map[string]int64{}, holds: map[*Hold]struct{}{}, orgs: map[string]spec.Budget{},
		dirty: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	err := st.Scan(bg, spendPrefix, store.ScanOptions{}, func(k, v []byte) bool {
		var s spend
		if json.Unmarshal(v, &s) == nil {
			if s.Micro == 0 && s.USD > 0 {
				s.Micro = Micro(s.USD)
			}
			s.USD = 0
			l.spend[string(k[len(spendPrefix):])] = &s
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("cannot load spend: %w", err)
	}
	go l.saveLoop()
	return l, nil
}

// SetOrgBudgets replaces the organisations' budgets.
func (l *Limiter) SetOrgBudgets(bs []OrgBudget) {
	m := make(map[string]spec.Budget, len(bs))
	for _, b := range bs {
		m[b.Org] = b.Budget
	}
	l.mu.Lock()
	l.orgs = m
	l.anyOrg.Store(len(m) > 0)
	l.mu.Unlock()
}

// Admit checks key's limits and budgets (and its org's budget) for one more request, and takes
// one token from its rate bucket. It holds nothing of the budgets: see Reserve.
func (l *Limiter) Admit(k *Key) *fault.Error {
	_, fe := l.admit(k, 0)
	return fe
}

// admit checks one request of k and takes its rate token; with est > 0 micro-dollars and a
// budget, it also holds up to est of each budget for the call (see Reserve).
func (l *Limiter) admit(k *Key, est int64) (*Hold, *fault.Error) {
	lim := k.Limits
	if lim == nil && (k.Org == "" || !l.anyOrg.Load()) {
		return nil, nil
	}
	if sh := l.shared.Load(); sh != nil {
		if h, fe, ok := l.admitShared(sh, k, est); ok {
			return h, fe
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	org, hasOrg := l.orgs[k.Org]
	hasOrg = hasOrg && k.Org != ""
	if lim == nil && !hasOrg {
		return nil, nil
	}
	now := l.now()
	room := int64(-1) // what the budgets leave; -1 while none is seen
	if lim != nil {
		if lim.Budget != nil {
			r, fe := l.checkBudget("key:"+k.ID, "key "+k.Name, *lim.Budget, now, est)
			if fe != nil {
				return nil, fe
			}
			room = r
		}
		if lim.TokensPerMinute > 0 {
			m := l.minute(k.ID, now)
			if m.used >= lim.TokensPerMinute {
				wait := int(math.Ceil(m.start.Add(time.Minute).Sub(now).Seconds()))
				return nil, fault.Limited(max(wait, 1), "key %q has used %d of its %d tokens this minute", k.Name, m.used, lim.TokensPerMinute)
			}
		}
	}
	if hasOrg {
		r, fe := l.checkBudget("org:"+k.Org, "organisation "+k.Org, org, now, est)
		if fe != nil {
			return nil, fe
		}
		if room < 0 || r < room {
			room = r
		}
	}
	if lim != nil && lim.RPS > 0 {
		burst := float64(BurstOf(lim))
		b := l.buckets[k.ID]
		if b == nil {
			b = &bucket{tokens: burst, last: now}
			l.buckets[k.ID] = b
		}
		b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*lim.RPS)
		b.last = now
		if b.tokens < 1 {
			wait := int(math.Ceil((1 - b.tokens) / lim.RPS))
			return nil, fault.Limited(max(wait, 1), "key %q is limited to %v requests per second", k.Name, lim.RPS)
		}
		b.tokens--
	}
	if est <= 0 || room < 0 {
		return nil, nil
	}
	h := &Hold{ID: newHoldID(), Micro: min(est, room), Expires: now.Add(HoldTTL)}
	if lim != nil && lim.Budget != nil {
		h.keyScope = "key:" + k.ID
		l.held[h.keyScope] += h.Micro
	}
	if hasOrg {
		h.orgScope = "org:" + k.Org
		l.held[h.orgScope] += h.Micro
	}
	l.holds[h] = struct{}{}
	return h, nil
}

// BurstOf is how many requests of a key may come at once: its burst, or by default its rate,
// at least 1.
func BurstOf(lim *spec.Limits) int {
	if lim.Burst > 0 {
		return lim.Burst
	}
	return int(math.Max(1, math.Floor(lim.RPS)))
}

func (l *Limiter) minute(id string, now time.Time) *minute {
	start := now.Truncate(time.Minute)
	m := l.minutes[id]
	if m == nil || !m.start.Equal(start) {
		m = &minute{start: start}
		l.minutes[id] = m
	}
	return m
}

func (l *Limiter) current(scope string, period string, now time.Time) *spend {
	start := PeriodStart(period, now)
	s := l.spend[scope]
	if s == nil || !s.Period.Equal(start) {
		s = &spend{Period: start}
		l.spend[scope] = s
	}
	return s
}

// checkBudget admits a call estimated at est micro-dollars when the budget's spend, what calls
// in flight hold and est fit in it, or, when est does not fit, while something is left and no
// call holds any of it (the budget's last call runs alone). It says how much is left.
func (l *Limiter) checkBudget(scope, who string, b spec.Budget, now time.Time, est int64) (int64, *fault.Error) {
	s := l.current(scope, b.Period, now)
	held, limit := l.held[scope], Micro(b.USD)
	if s.Micro+held >= limit || held > 0 && s.Micro+held+est > limit {
		return 0, budgetFault(who, b, s.Period, s.Micro, held)
	}
	return limit - s.Micro - held, nil
}

// Spent records what a finished request of key used. For a key that Reserve returned, it
// replaces what the call held with what it cost, once.
func (l *Limiter) Spent(k *Key, tokens int64, usd float64) {
	h := k.hold
	if h != nil && !h.settled.CompareAndSwap(false, true) {
		return
	}
	if h == nil && k.Limits == nil && (k.Org == "" || usd <= 0 || !l.anyOrg.Load()) {
		return
	}
	if sh := l.shared.Load(); sh != nil {
		// The shared counters keep what they could not take and add it when they answer again;
		// the local ones count too, for while they serve.
		a := l.admissionNow(k)
		if h != nil && h.shared {
			a.Hold = h
		}
		if err := sh.s.Spent(a, tokens, usd); err != nil {
			sh.failed(err)
		}
	}
	micro := max(Micro(usd), 0)
	l.mu.Lock()
	now := l.now()
	if lim := k.Limits; lim != nil {
		if lim.TokensPerMinute > 0 {
			l.minute(k.ID, now).used += tokens
		}
		if lim.Budget != nil && micro > 0 {
			l.current("key:"+k.ID, lim.Budget.Period, now).Micro += micro
			l.dirty["key:"+k.ID] = true
		}
	}
	if b, ok := l.orgs[k.Org]; ok && k.Org != "" && micro > 0 {
		l.current("org:"+k.Org, b.Period, now).Micro += micro
		l.dirty["org:"+k.Org] = true
	}
	var over int64
	if h != nil {
		over = micro - h.Micro
		if !h.shared {
			l.unholdLocked(h)
		}
		if over > 0 && h.keyScope != "" && k.Limits != nil && k.Limits.Budget != nil {
			l.current(h.keyScope, k.Limits.Budget.Period, now).Over += over
			l.dirty[h.keyScope] = true
		}
	}
	l.mu.Unlock()
	if over > 0 && l.OnOverspend != nil {
		if h.keyScope != "" {
			l.OnOverspend("key", float64(over)/1e6)
		}
		if h.orgScope != "" {
			l.OnOverspend("org", float64(over)/1e6)
		}
	}
}

// Usage is what a key has used, for the keys API.
type Usage struct {
	SpentUSD    float64   `json:"spentUsd"`
	PeriodStart time.Time `json:"periodStart,omitzero"`
	// HeldUSD is what the key's calls in flight hold of its budget; OverspentUSD what its calls
	// this period cost beyond what they held (their estimate was too low).
	HeldUSD          float64 `json:"heldUsd,omitempty"`
	OverspentUSD     float64 `json:"overspentUsd,omitempty"`
	TokensThisMinute int64   `json:"tokensThisMinute"`
}

// UsageOf reports key's current usage.
func (l *Limiter) UsageOf(k *Key) Usage {
	if sh := l.shared.Load(); sh != nil {
		if u, err := sh.s.Usage(l.admissionNow(k)); err == nil {
			return u
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var u Usage
	now := l.now()
	if k.Limits != nil && k.Limits.Budget != nil {
		s := l.current("key:"+k.ID, k.Limits.Budget.Period, now)
		u.SpentUSD, u.PeriodStart = float64(s.Micro)/1e6, s.Period
		u.HeldUSD, u.OverspentUSD = float64(l.held["key:"+k.ID])/1e6, float64(s.Over)/1e6
	}
	if m := l.minutes[k.ID]; m != nil && m.start.Equal(now.Truncate(time.Minute)) {
		u.TokensThisMinute = m.used
	}
	return u
}

func (l *Limiter) saveLoop() {
	defer close(l.done)
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.save()
			return
		case <-t.C:
			l.lapse()
			l.save()
		}
	}
}

func (l *Limiter) save() {
	l.mu.Lock()
	var entries []store.Entry
	for scope := range l.dirty {
		b, _ := json.Marshal(l.spend[scope])
		entries = append(entries, store.Entry{Key: append(append([]byte(nil), spendPrefix...), scope...), Value: b})
	}
	clear(l.dirty)
	l.mu.Unlock()
	if len(entries) > 0 {
		_ = l.st.Write(entries)
	}
}

// Close saves spend and stops.
func (l *Limiter) Close() {
	close(l.stop)
	<-l.done
}

// PeriodStart is the start of the budget period (day, week or month, in UTC) that holds t.
func PeriodStart(period string, t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case "day":
		return day
	case "week":
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// PeriodEnd is the end of the budget period that starts at start.
func PeriodEnd(period string, start time.Time) time.Time {
	switch period {
	case "day":
		return start.AddDate(0, 0, 1)
	case "week":
		return start.AddDate(0, 0, 7)
	}
	return start.AddDate(0, 1, 0)
}

func periodName(period string) string {
	switch period {
	case "day":
		return "daily"
	case "week":
		return "weekly"
	}
	return "monthly"
}
