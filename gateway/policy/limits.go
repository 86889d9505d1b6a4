package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/store"
)

// Limits bound what one key may do.
type Limits struct {
	// RPS is the sustained request rate; Burst (default: RPS, at least 1) is how many may come at once.
	RPS   float64 `json:"rps,omitempty"`
	Burst int     `json:"burst,omitempty"`
	// TokensPerMinute bounds input+output tokens in each calendar minute: a request is admitted
	// while the minute's count is below the limit.
	TokensPerMinute int64   `json:"tokensPerMinute,omitempty"`
	Budget          *Budget `json:"budget,omitempty"`
}

// Budget bounds spend over a period: a request is admitted while the period's spend is below it.
type Budget struct {
	USD float64 `json:"usd"`
	// Period is day, week (from Monday) or month (default), in UTC.
	Period string `json:"period,omitempty"`
}

// OrgBudget is an organisation's budget, shared by all its keys.
type OrgBudget struct {
	Org    string `json:"org"`
	Budget Budget `json:"budget"`
}

var periods = []string{"day", "week", "month"}

// ValidateLimits checks limits, with paths under base.
func ValidateLimits(base string, l *Limits, es *decode.Errors) {
	if l == nil {
		return
	}
	if l.RPS < 0 {
		es.Add(decode.Join(base, "rps"), "must not be negative")
	}
	if l.Burst < 0 {
		es.Add(decode.Join(base, "burst"), "must not be negative")
	}
	if l.TokensPerMinute < 0 {
		es.Add(decode.Join(base, "tokensPerMinute"), "must not be negative")
	}
	ValidateBudget(decode.Join(base, "budget"), l.Budget, es)
}

// ValidateBudget checks a budget, with paths under base.
func ValidateBudget(base string, b *Budget, es *decode.Errors) {
	if b == nil {
		return
	}
	if b.USD <= 0 {
		es.Add(decode.Join(base, "usd"), "must be positive, got %v", b.USD)
	}
	if b.Period != "" && !slices.Contains(periods, b.Period) {
		es.Add(decode.Join(base, "period"), "%q is not one of %s", b.Period, strings.Join(periods, ", "))
	}
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
	orgs    map[string]Budget
	anyOrg  atomic.Bool // orgs is not empty: a key without limits of its own needs no lock
	dirty   map[string]bool
	shared  atomic.Pointer[sharedState]
	stop    chan struct{}
	done    chan struct{}
}

type bucket struct {
	tokens float64
	last   time.Time
}

type minute struct {
	start time.Time
	used  int64
}

type spend struct {
	Period time.Time `json:"period"`
	USD    float64   `json:"usd"`
}

var spendPrefix = []byte("spend/")

// NewLimiter loads saved spend and starts saving it.
func NewLimiter(st *store.Store) (*Limiter, error) {
	l := &Limiter{st: st, now: time.Now, buckets: map[string]*bucket{}, minutes: map[string]*minute{},
		spend: map[string]*spend{}, orgs: map[string]Budget{}, dirty: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	err := st.Scan(bg, spendPrefix, store.ScanOptions{}, func(k, v []byte) bool {
		var s spend
		if json.Unmarshal(v, &s) == nil {
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
	m := make(map[string]Budget, len(bs))
	for _, b := range bs {
		m[b.Org] = b.Budget
	}
	l.mu.Lock()
	l.orgs = m
	l.anyOrg.Store(len(m) > 0)
	l.mu.Unlock()
}

// Admit checks key's limits and budgets (and its org's budget) for one more request, and takes
// one token from its rate bucket.
func (l *Limiter) Admit(k *Key) *fault.Error {
	lim := k.Limits
	if lim == nil && (k.Org == "" || !l.anyOrg.Load()) {
		return nil
	}
	if sh := l.shared.Load(); sh != nil {
		if fe, ok := l.admitShared(sh, k); ok {
			return fe
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	org, hasOrg := l.orgs[k.Org]
	hasOrg = hasOrg && k.Org != ""
	if lim == nil && !hasOrg {
		return nil
	}
	now := l.now()
	if lim != nil {
		if lim.Budget != nil {
			if fe := l.checkBudget("key:"+k.ID, "key "+k.Name, *lim.Budget, now); fe != nil {
				return fe
			}
		}
		if lim.TokensPerMinute > 0 {
			m := l.minute(k.ID, now)
			if m.used >= lim.TokensPerMinute {
				wait := int(math.Ceil(m.start.Add(time.Minute).Sub(now).Seconds()))
				return fault.Limited(max(wait, 1), "key %q has used %d of its %d tokens this minute", k.Name, m.used, lim.TokensPerMinute)
			}
		}
	}
	if hasOrg {
		if fe := l.checkBudget("org:"+k.Org, "organisation "+k.Org, org, now); fe != nil {
			return fe
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
			return fault.Limited(max(wait, 1), "key %q is limited to %v requests per second", k.Name, lim.RPS)
		}
		b.tokens--
	}
	return nil
}

// BurstOf is how many requests of a key may come at once: its burst, or by default its rate,
// at least 1.
func BurstOf(lim *Limits) int {
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

func (l *Limiter) checkBudget(scope, who string, b Budget, now time.Time) *fault.Error {
	s := l.current(scope, b.Period, now)
	if s.USD >= b.USD {
		return fault.OverBudget("%s has spent $%.4f of its $%.2f %s budget; it resets at %s", who, s.USD, b.USD,
			periodName(b.Period), PeriodEnd(b.Period, s.Period).Format(time.RFC3339))
	}
	return nil
}

// Spent records what a finished request of key used.
func (l *Limiter) Spent(k *Key, tokens int64, usd float64) {
	if k.Limits == nil && (k.Org == "" || usd <= 0 || !l.anyOrg.Load()) {
		return
	}
	if sh := l.shared.Load(); sh != nil {
		// The shared counters keep what they could not take and add it when they answer again;
		// the local ones count too, for while they serve.
		if err := sh.s.Spent(l.admissionNow(k), tokens, usd); err != nil {
			sh.failed(err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if lim := k.Limits; lim != nil {
		if lim.TokensPerMinute > 0 {
			l.minute(k.ID, now).used += tokens
		}
		if lim.Budget != nil && usd > 0 {
			l.current("key:"+k.ID, lim.Budget.Period, now).USD += usd
			l.dirty["key:"+k.ID] = true
		}
	}
	if b, ok := l.orgs[k.Org]; ok && k.Org != "" && usd > 0 {
		l.current("org:"+k.Org, b.Period, now).USD += usd
		l.dirty["org:"+k.Org] = true
	}
}

// Usage is what a key has used, for the keys API.
type Usage struct {
	SpentUSD         float64   `json:"spentUsd"`
	PeriodStart      time.Time `json:"periodStart,omitzero"`
	TokensThisMinute int64     `json:"tokensThisMinute"`
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
		u.SpentUSD, u.PeriodStart = s.USD, s.Period
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
