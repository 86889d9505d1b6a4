package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iomhq/iom/gateway/policy"
)

// Limits keeps the counters of policy limits in Redis, so that every node admits against the
// same numbers: a GCRA rate limit per key, tokens per calendar minute, and spend per budget
// period in integer micro-dollars. One script checks a request (one round trip); one
// transaction adds what it used.
//
// Keys carry a hash tag per key or organisation ({k:<id>}, {o:<org>}), so that in Redis Cluster
// the counters of one key share a slot.
type Limits struct {
	c *Cluster

	mu       sync.Mutex
	pending  map[string]*pendingSpend // by settlement id: what failed to reach Redis, added when it answers
	flushing atomic.Bool
}

type pendingSpend struct {
	id            string // of the settlement, so that it is added once
	names         [3]string
	tokens, micro int64
	ttl           [3]time.Time // when each key expires
}

// maxPending bounds the spend kept while Redis is down: one entry per key and period.
const maxPending = 10000

func newLimits(c *Cluster) *Limits {
	return &Limits{c: c, pending: map[string]*pendingSpend{}}
}

// admitScript checks, in order, the key's budget, its tokens this minute, its organisation's
// budget and its rate; only the rate check writes. Redis's own clock serves every node, so
// their clocks need not agree.
//
// KEYS: rate, minute tokens, key spend, org spend. ARGV: emission interval (µs; 0: no rate
// limit), burst, tokens per minute (0: none), key budget, org budget (micro-dollars; 0: none).
// It answers {0} to admit, or {reason, value}: 1 rate (µs to wait), 2 tokens (used),
// 3 key budget (spent), 4 org budget (spent).
var admitScript = redis.NewScript(`
local kb = tonumber(ARGV[4])
if kb > 0 then
  local spent = tonumber(redis.call('GET', KEYS[3]) or '0')
  if spent >= kb then return {3, spent} end
end
local tpm = tonumber(ARGV[3])
if tpm > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= tpm then return {2, used} end
end
local ob = tonumber(ARGV[5])
if ob > 0 then
  local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
  if spent >= ob then return {4, spent} end
end
local interval = tonumber(ARGV[1])
if interval > 0 then
  local burst = tonumber(ARGV[2])
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  if tat < now then tat = now end
  local allowAt = tat - (burst - 1) * interval
  if now < allowAt then return {1, allowAt - now} end
  tat = tat + interval
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
end
return {0}
`)

// names are the Redis keys of one admission: rate, minute tokens, key spend, org spend ("" when
// the key has no such limit).
func names(a *policy.Admission) (rate, minute, keySpend, orgSpend string) {
	k := "iom:{k:" + a.Key.ID + "}:"
	rate, minute = k+"rate", k+"tpm:"+strconv.FormatInt(a.Minute.Unix(), 10)
	if a.KeyBudget != nil {
		keySpend = k + "spend:" + strconv.FormatInt(a.KeyPeriod.Unix(), 10)
	}
	if a.OrgBudget != nil {
		orgSpend = "iom:{o:" + a.Key.Org + "}:spend:" + strconv.FormatInt(a.OrgPeriod.Unix(), 10)
	}
	return
}

// Micro converts dollars to the integer micro-dollars budgets are counted in.
func Micro(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

// Admit checks one request of a.Key against the shared counters and takes its rate token.
func (l *Limits) Admit(a *policy.Admission) (policy.Verdict, error) {
	lim := a.Key.Limits
	var interval, burst, tpm, kb, ob int64
	if lim != nil {
		if lim.RPS > 0 {
			interval = max(1, int64(math.Round(1e6/lim.RPS)))
			burst = int64(policy.BurstOf(lim))
		}
		tpm = lim.TokensPerMinute
	}
	if a.KeyBudget != nil {
		kb = Micro(a.KeyBudget.USD)
	}
	if a.OrgBudget != nil {
		ob = Micro(a.OrgBudget.USD)
	}
	rate, minute, ks, os := names(a)
	ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.Timeout)
	defer cancel()
	res, err := admitScript.Run(ctx, l.c.rdb, []string{rate, minute, orDash(ks), orDash(os)},
		interval, burst, tpm, kb, ob).Int64Slice()
	if err != nil {
		return policy.Verdict{}, err
	}
	l.flushSoon()
	if len(res) < 2 {
		return policy.Verdict{}, nil
	}
	v := policy.Verdict{Refusal: policy.Refusal(res[0])}
	switch v.Refusal {
	case policy.RefusedRate:
		v.Wait = time.Duration(res[1]) * time.Microsecond
	case policy.RefusedTokens:
		v.Used = res[1]
	default:
		v.SpentUSD = float64(res[1]) / 1e6
	}
	return v, nil
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func orDash(s string) string {
	if s == "" {
		return "iom:-"
	}
	return s
}

// Spent adds what a finished request used. When Redis does not answer, the spend is kept and
// added when it does, so budgets are exact again after an outage.
func (l *Limits) Spent(a *policy.Admission, tokens int64, usd float64) error {
	_, minute, ks, os := names(a)
	if a.Key.Limits == nil || a.Key.Limits.TokensPerMinute == 0 {
		minute, tokens = "", 0
	}
	micro := Micro(usd)
	if micro <= 0 {
		ks, os, micro = "", "", 0
	}
	if minute == "" && ks == "" && os == "" {
		return nil
	}
	p := &pendingSpend{id: newID(), tokens: tokens, micro: micro, ttl: [3]time.Time{a.Minute.Add(2 * time.Minute)}}
	if a.KeyBudget != nil {
		p.ttl[1] = policy.PeriodEnd(a.KeyBudget.Period, a.KeyPeriod).Add(24 * time.Hour)
	}
	if a.OrgBudget != nil {
		p.ttl[2] = policy.PeriodEnd(a.OrgBudget.Period, a.OrgPeriod).Add(24 * time.Hour)
	}
	names := [3]string{minute, ks, os}
	ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.Timeout)
	defer cancel()
	if err := l.settle(ctx, names, p); err != nil {
		l.keep(names, p)
		return err
	}
	return nil
}

// settleScript adds a request's tokens and spend once: the settlement's id is remembered for
// ten minutes, so one retried after a timeout (when Redis may have run it already) adds
// nothing. A node retries kept spend every second while Redis answers; one retried later than
// that after a timed-out first try could count twice.
//
// KEYS: settlement id, minute tokens, key spend, org spend. ARGV: tokens, micro-dollars, then
// for each counter the Unix time it expires at, 0 to leave it alone.
var settleScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 600) then return 0 end
for i = 2, 4 do
  local at = tonumber(ARGV[i + 1])
  if at > 0 then
    local by = ARGV[2]
    if i == 2 then by = ARGV[1] end
    redis.call('INCRBY', KEYS[i], by)
    redis.call('EXPIREAT', KEYS[i], at)
  end
end
return 1
`)

// settle adds p to the counters names, once.
func (l *Limits) settle(ctx context.Context, names [3]string, p *pendingSpend) error {
	keys := []string{"iom:settled:" + p.id, orDash(names[0]), orDash(names[1]), orDash(names[2])}
	args := []any{p.tokens, p.micro, 0, 0, 0}
	for i, n := range names {
		if n != "" {
			args[2+i] = p.ttl[i].Unix()
		}
	}
	return settleScript.Run(ctx, l.c.rdb, keys, args...).Err()
}

func (l *Limits) keep(names [3]string, p *pendingSpend) {
	p.names = names
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) >= maxPending {
		l.c.log.Warn("cluster: too much spend waits for Redis; dropping some", "kept", maxPending)
		return
	}
	l.pending[p.id] = p
}

// flushSoon adds kept spend now that Redis answers.
func (l *Limits) flushSoon() {
	l.mu.Lock()
	n := len(l.pending)
	l.mu.Unlock()
	if n > 0 && l.flushing.CompareAndSwap(false, true) {
		go func() {
			defer l.flushing.Store(false)
			l.flush()
		}()
	}
}

func (l *Limits) flushLoop(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(beatEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			l.flush()
			return
		case <-t.C:
			l.flush()
		}
	}
}

// flush adds kept spend to Redis; entries that still fail stay kept.
func (l *Limits) flush() {
	l.mu.Lock()
	batch := l.pending
	l.pending = map[string]*pendingSpend{}
	l.mu.Unlock()
	for _, p := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.Timeout)
		err := l.settle(ctx, p.names, p)
		cancel()
		if err != nil {
			l.keep(p.names, p)
		}
	}
}

func (l *Limits) pendingUSD() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var micro int64
	for _, p := range l.pending {
		if p.names[1] != "" || p.names[2] != "" {
			micro += p.micro
		}
	}
	return float64(micro) / 1e6
}

// Usage reads a key's spend this period and tokens this minute.
func (l *Limits) Usage(a *policy.Admission) (policy.Usage, error) {
	_, minute, ks, _ := names(a)
	ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.Timeout)
	defer cancel()
	vals, err := l.c.rdb.MGet(ctx, minute, orDash(ks)).Result()
	if err != nil {
		return policy.Usage{}, err
	}
	u := policy.Usage{TokensThisMinute: asInt(vals[0])}
	if a.KeyBudget != nil {
		u.SpentUSD, u.PeriodStart = float64(asInt(vals[1]))/1e6, a.KeyPeriod
	}
	return u, nil
}

func asInt(v any) int64 {
	s, _ := v.(string)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
