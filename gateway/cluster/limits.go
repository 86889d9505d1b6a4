package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iomhq/iom/gateway/policy"
)

// Limits keeps the counters of policy limits in Redis so every node admits against the same
// numbers: a GCRA rate per key, tokens per calendar minute, and spend per budget period in
// micro-dollars with what calls in flight hold. One script admits a request and holds its cost,
// one settles what it used; keys carry a hash tag ({k:<id>}, {o:<org>}) so that in Redis Cluster
// one key's counters share a slot.
type Limits struct {
	c *Cluster

	mu       sync.Mutex
	pending  map[string]*pendingSpend // by settlement id: what failed to reach Redis, added when it answers
	flushing atomic.Bool
}

type pendingSpend struct {
	id            string // of the settlement, so that it is added once
	names         [3]string
	holds         [2]string // the key's and the org's holds, "" when the call held nothing there
	over          string    // the key's overspend this period, "" when the call held nothing
	tokens, micro int64
	held          int64        // what the call held, replaced by micro
	ttl           [3]time.Time // when each key expires
}

// maxPending bounds the spend kept while Redis is down: one entry per key and period.
const maxPending = 10000

// maxLapsed bounds the lapsed holds one admission clears; any more go on the next.
const maxLapsed = 100

func newLimits(c *Cluster) *Limits {
	return &Limits{c: c, pending: map[string]*pendingSpend{}}
}

// admitScript checks the key's budget, its tokens this minute, its org's budget and its rate, in
// that order, then takes the rate token and holds the estimate in each budget (docs/DESIGN.md
// has the rules). A budget's holds are a sorted set of "<id>:<micro-dollars>", scored in ms by
// when each lapses on Redis's clock (nodes' clocks need not agree), and their sum.
// KEYS: rate, minute tokens, key spend, org spend, key holds, key held, org holds, org held.
// ARGV: emission interval (µs), burst, tokens per minute, key budget, org budget, estimate
// (micro-dollars), hold id, hold lifetime (ms); 0 means none. Answer: {policy.Refusal, value, held}.
var admitScript = redis.NewScript(`
local now
local function clock()
  if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  return now
end
local function budget(spendKey, holdsKey, heldKey)
  local ms = math.floor(clock() / 1000)
  local gone = redis.call('ZRANGEBYSCORE', holdsKey, '-inf', ms, 'LIMIT', 0, ` + strconv.Itoa(maxLapsed) + `)
  for _, m in ipairs(gone) do
    redis.call('ZREM', holdsKey, m)
    redis.call('DECRBY', heldKey, string.match(m, ':(%d+)$'))
  end
  return tonumber(redis.call('GET', spendKey) or '0'), tonumber(redis.call('GET', heldKey) or '0')
end
local room
local est = tonumber(ARGV[6])
local kb = tonumber(ARGV[4])
if kb > 0 then
  local spent, held = budget(KEYS[3], KEYS[5], KEYS[6])
  if spent + held >= kb or held > 0 and spent + held + est > kb then return {3, spent, held} end
  room = kb - spent - held
end
local tpm = tonumber(ARGV[3])
if tpm > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= tpm then return {2, used} end
end
local ob = tonumber(ARGV[5])
if ob > 0 then
  local spent, held = budget(KEYS[4], KEYS[7], KEYS[8])
  if spent + held >= ob or held > 0 and spent + held + est > ob then return {4, spent, held} end
  if not room or ob - spent - held < room then room = ob - spent - held end
end
local interval = tonumber(ARGV[1])
if interval > 0 then
  local burst = tonumber(ARGV[2])
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  if tat < clock() then tat = clock() end
  local allowAt = tat - (burst - 1) * interval
  if clock() < allowAt then return {1, allowAt - clock()} end
  tat = tat + interval
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - clock()) / 1000) + 1000)
end
if est <= 0 or not room then return {0, 0} end
local hold = math.min(est, room)
local life = tonumber(ARGV[8])
local member = ARGV[7] .. ':' .. string.format('%.0f', hold)
for _, k in ipairs({{kb, 5}, {ob, 7}}) do
  if k[1] > 0 then
    redis.call('ZADD', KEYS[k[2]], math.floor(clock() / 1000) + life, member)
    redis.call('INCRBY', KEYS[k[2] + 1], string.format('%.0f', hold))
    redis.call('PEXPIRE', KEYS[k[2]], life + 1000)
    redis.call('PEXPIRE', KEYS[k[2] + 1], life + 1000)
  end
end
return {0, hold}
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

// holdNames are the Redis keys of the holds of a's budgets: each budget's sorted set of holds
// and their sum ("" when there is no such budget), and the key's overspend this period.
func holdNames(a *policy.Admission) (keyHolds, keyHeld, orgHolds, orgHeld, keyOver string) {
	if a.KeyBudget != nil {
		k := "iom:{k:" + a.Key.ID + "}:"
		keyHolds, keyHeld = k+"holds", k+"held"
		keyOver = k + "over:" + strconv.FormatInt(a.KeyPeriod.Unix(), 10)
	}
	if a.OrgBudget != nil {
		o := "iom:{o:" + a.Key.Org + "}:"
		orgHolds, orgHeld = o+"holds", o+"held"
	}
	return
}

// Admit checks one request of a.Key against the shared counters, takes its rate token and
// holds a.Hold's estimate of its budgets.
func (l *Limits) Admit(a *policy.Admission) (policy.Verdict, error) {
	lim := a.Key.Limits
	var interval, burst, tpm, kb, ob, est int64
	if lim != nil {
		if lim.RPS > 0 {
			interval = max(1, int64(math.Round(1e6/lim.RPS)))
			burst = int64(policy.BurstOf(lim))
		}
		tpm = lim.TokensPerMinute
	}
	if a.KeyBudget != nil {
		kb = policy.Micro(a.KeyBudget.USD)
	}
	if a.OrgBudget != nil {
		ob = policy.Micro(a.OrgBudget.USD)
	}
	holdID := ""
	if a.Hold != nil {
		est, holdID = a.Hold.Micro, a.Hold.ID
	}
	rate, minute, ks, os := names(a)
	kh, kd, oh, od, _ := holdNames(a)
	ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.Timeout)
	defer cancel()
	res, err := admitScript.Run(ctx, l.c.rdb,
		[]string{rate, minute, orDash(ks), orDash(os), orDash(kh), orDash(kd), orDash(oh), orDash(od)},
		interval, burst, tpm, kb, ob, est, holdID, policy.HoldTTL.Milliseconds()).Int64Slice()
	if err != nil {
		return policy.Verdict{}, quietError(err)
	}
	l.flushSoon()
	if len(res) < 2 {
		return policy.Verdict{}, nil
	}
	v := policy.Verdict{Refusal: policy.Refusal(res[0])}
	switch v.Refusal {
	case policy.Admitted:
		v.Held = res[1]
	case policy.RefusedRate:
		v.Wait = time.Duration(res[1]) * time.Microsecond
	case policy.RefusedTokens:
		v.Used = res[1]
	default:
		v.SpentMicro = res[1]
		if len(res) > 2 {
			v.HeldMicro = res[2]
		}
	}
	return v, nil
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// quietError says what failed without the address of the server (a dial error names it), since
// the limiter logs it.
func quietError(err error) error { return errors.New("redis: " + redisError(err)) }

func orDash(s string) string {
	if s == "" {
		return "iom:-"
	}
	return s
}

// Spent adds what a finished request used, in place of what it held. When Redis does not
// answer, the spend is kept and added when it does, so budgets are exact again after an outage.
func (l *Limits) Spent(a *policy.Admission, tokens int64, usd float64) error {
	_, minute, ks, os := names(a)
	if a.Key.Limits == nil || a.Key.Limits.TokensPerMinute == 0 || tokens <= 0 {
		minute, tokens = "", 0
	}
	micro := policy.Micro(usd)
	if micro <= 0 {
		ks, os, micro = "", "", 0
	}
	p := &pendingSpend{id: newID(), tokens: tokens, micro: micro, ttl: [3]time.Time{a.Minute.Add(2 * time.Minute)}}
	if h := a.Hold; h != nil && h.Micro > 0 {
		kh, _, oh, _, over := holdNames(a)
		p.id, p.held, p.holds, p.over = h.ID, h.Micro, [2]string{kh, oh}, over
	}
	if minute == "" && ks == "" && os == "" && p.held == 0 {
		return nil
	}
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
		return quietError(err)
	}
	return nil
}

// settleScript adds a request's tokens and spend, frees its hold and adds what it cost beyond the
// hold to the key's overspend, once per settlement id: ids are kept ten minutes, so a retry after
// a timeout adds nothing (kept spend is retried every second while Redis answers).
// KEYS: settlement id, minute tokens, key spend, org spend, key holds, key held, org holds, org
// held, key overspend ("iom:-" for one left alone). ARGV: tokens, micro-dollars, each counter's
// expiry in Unix seconds (0: leave it alone), the hold's member ("" for none).
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
local member = ARGV[6]
if member ~= '' then
  local held = string.match(member, ':(%d+)$')
  for _, i in ipairs({5, 7}) do
    if KEYS[i] ~= 'iom:-' and redis.call('ZREM', KEYS[i], member) == 1 then
      redis.call('DECRBY', KEYS[i + 1], held)
    end
  end
  local over = tonumber(ARGV[2]) - tonumber(held)
  if over > 0 and KEYS[9] ~= 'iom:-' then
    redis.call('INCRBY', KEYS[9], over)
    redis.call('EXPIREAT', KEYS[9], ARGV[4])
  end
end
return 1
`)

// settle adds p to the counters names, once.
func (l *Limits) settle(ctx context.Context, names [3]string, p *pendingSpend) error {
	keys := []string{"iom:settled:" + p.id, orDash(names[0]), orDash(names[1]), orDash(names[2]), "iom:-", "iom:-",
		"iom:-", "iom:-", "iom:-"}
	args := []any{p.tokens, p.micro, 0, 0, 0, ""}
	for i, n := range names {
		if n != "" {
			args[2+i] = p.ttl[i].Unix()
		}
	}
	if p.held > 0 {
		args[5] = p.id + ":" + strconv.FormatInt(p.held, 10)
		for i, h := range p.holds {
			if h != "" {
				keys[4+2*i], keys[5+2*i] = h, strings.TrimSuffix(h, "holds")+"held"
			}
		}
		if p.over != "" && p.micro > p.held {
			keys[8] = p.over // it expires with the key's spend
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

// Usage reads a key's spend this period, what its calls in flight hold and what they spent
// beyond their holds, and its tokens this minute.
func (l *Limits) Usage(a *policy.Admission) (policy.Usage, error) {
	_, minute, ks, _ := names(a)
	_, kd, _, _, over := holdNames(a)
	ctx, cancel := context.WithTimeout(context.Background(), l.c.opts.Timeout)
	defer cancel()
	vals, err := l.c.rdb.MGet(ctx, minute, orDash(ks), orDash(kd), orDash(over)).Result()
	if err != nil {
		return policy.Usage{}, quietError(err)
	}
	u := policy.Usage{TokensThisMinute: asInt(vals[0])}
	if a.KeyBudget != nil {
		u.SpentUSD, u.PeriodStart = float64(asInt(vals[1]))/1e6, a.KeyPeriod
		u.HeldUSD, u.OverspentUSD = float64(max(asInt(vals[2]), 0))/1e6, float64(asInt(vals[3]))/1e6
	}
	return u, nil
}

func asInt(v any) int64 {
	s, _ := v.(string)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
