// Command fleet simulates what a fleet of gateway nodes asks of the one Redis and the one
// VictoriaMetrics they share, second by second: requests by kind of key, the Redis calls each
// makes on the hot path, heartbeats, the stream every node follows, the fan-out of key and
// pipeline changes, the settlement ids kept ten minutes, and the series each node pushes. The costs
// per call are inputs, measured on a running cluster (docs/SCALING.md says how); the defaults
// are the measured ones.
//
//	go run -C bench ./fleet -nodes 100 -rps 100000
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
)

// params are the fleet and its traffic, and what each kind of call costs.
type params struct {
	nodes           int
	rps             float64 // requests per second over the whole fleet
	limited         float64 // share of requests by keys with a rate limit only: one admit call
	metered         float64 // share by keys with tokens per minute or a budget: admit and settle
	changesPerSec   float64 // keys and pipelines changed through the admin API, fleet-wide
	seconds         int     // simulated
	usecPerScript   float64 // Redis CPU per admit or settle script (INFO cpu over a run)
	usecPerCall     float64 // per plain call: HSET, HGET, XREAD
	settledBytes    float64 // memory of one settlement id, kept ten minutes
	models          int     // models each node serves (each has its own series)
	seriesPerModel  int     // series a model adds to a node's metrics (its own and its iom_usage_*)
	names           int     // keys, orgs and pipelines a node served in the last hour (iom_usage_*)
	seriesPerNode   int     // series a node has without models (Go runtime, listeners, pushes)
	pushIntervalSec float64
}

// second is what the fleet asked of Redis in one simulated second.
type second struct {
	requests, scripts, calls float64
}

func main() {
	var p params
	flag.IntVar(&p.nodes, "nodes", 100, "gateway nodes")
	flag.Float64Var(&p.rps, "rps", 100_000, "requests per second over the fleet")
	flag.Float64Var(&p.limited, "limited", 0.5, "share of requests by keys with a rate limit only")
	flag.Float64Var(&p.metered, "metered", 0.3, "share of requests by keys with tokens per minute or a budget")
	flag.Float64Var(&p.changesPerSec, "changes", 1, "key and pipeline changes per second, fleet-wide")
	flag.IntVar(&p.seconds, "seconds", 300, "seconds to simulate")
	flag.Float64Var(&p.usecPerScript, "usec-script", 20.5, "Redis CPU per admit or settle script, its network I/O included, µs")
	flag.Float64Var(&p.usecPerCall, "usec-call", 10, "Redis CPU per plain call, its network I/O included, µs")
	flag.Float64Var(&p.settledBytes, "settled-bytes", 125, "Redis memory per settlement id, bytes")
	flag.IntVar(&p.models, "models", 100, "models each node serves")
	flag.IntVar(&p.seriesPerModel, "series-per-model", 75, "series per model per node")
	flag.IntVar(&p.names, "names", 0, "keys, orgs and pipelines each node served in the last hour (25 series each, at most 500 a group)")
	flag.IntVar(&p.seriesPerNode, "series-per-node", 170, "series per node besides its models'")
	flag.Float64Var(&p.pushIntervalSec, "push-interval", 10, "seconds between a node's pushes")
	flag.Parse()
	if p.nodes < 1 || p.rps < 0 || p.limited < 0 || p.metered < 0 || p.limited+p.metered > 1 || p.seconds < 1 || p.pushIntervalSec <= 0 {
		fmt.Fprintln(os.Stderr, "fleet: -nodes and -seconds must be at least 1, -rps at least 0, -limited plus -metered at most 1, -push-interval above 0")
		os.Exit(2)
	}
	report(p, simulate(p, rand.New(rand.NewPCG(1, 2))))
}

// simulate draws each second's requests and changes (Poisson arrivals) and counts the Redis
// calls they make, as the gateway makes them: an unlimited key none, a rate-limited key one
// admit script, a metered key an admit and a settle script; every node a heartbeat (HSET) and a
// blocking read of the change stream (XREAD) each second; a change one publish script, then
// on every other node a woken XREAD and an HGET of the changed entry.
func simulate(p params, rng *rand.Rand) []second {
	out := make([]second, p.seconds)
	perNode := p.rps / float64(p.nodes)
	for s := range out {
		var sec second
		for range p.nodes {
			n := poisson(rng, perNode)
			metered := binomial(rng, n, p.metered)
			limited := binomial(rng, n-metered, p.limited/max(1e-12, 1-p.metered))
			sec.requests += float64(n)
			sec.scripts += float64(limited + 2*metered)
			sec.calls += 2 // heartbeat and the stream's read
		}
		changes := poisson(rng, p.changesPerSec)
		sec.scripts += float64(changes)
		sec.calls += float64(changes * 2 * (p.nodes - 1))
		out[s] = sec
	}
	return out
}

func report(p params, secs []second) {
	redisUsec := func(s second) float64 { return s.scripts*p.usecPerScript + s.calls*p.usecPerCall }
	var load, scripts, calls []float64
	for _, s := range secs {
		load = append(load, redisUsec(s)/1e6)
		scripts = append(scripts, s.scripts)
		calls = append(calls, s.calls)
	}
	fmt.Printf("fleet: %d nodes, %.0f requests/s (%.0f%% rate-limited keys, %.0f%% metered, the rest unlimited), %.1f key or pipeline changes/s, %d s simulated\n\n",
		p.nodes, p.rps, 100*p.limited, 100*p.metered, p.changesPerSec, p.seconds)
	line := func(what string, xs []float64, format string) {
		fmt.Printf("%-46s mean "+format+"   busiest second "+format+"\n", what, mean(xs), slices.Max(xs))
	}
	line("Redis scripts per second (admit, settle)", scripts, "%9.0f")
	line("Redis plain calls per second", calls, "%9.0f")
	line("Redis busy (share of its one thread)", load, "%9.3f")
	settled := p.rps * p.metered * 600
	fmt.Printf("%-46s %.0f ids, %.1f MiB\n", "settlement ids kept (10 min of metered calls)", settled, settled*p.settledBytes/(1<<20))
	series := p.nodes * (p.seriesPerNode + p.models*p.seriesPerModel + 25*p.names)
	fmt.Printf("%-46s %d series, %.0f samples/s\n", "VictoriaMetrics: series of the fleet", series, float64(series)/p.pushIntervalSec)
	perSec := mean(scripts) + mean(calls)
	fmt.Printf("%-46s %.2f\n", "Redis commands per data-plane request", perSec/math.Max(1, p.rps))
	fmt.Printf("%-46s %.0f requests/s\n", "fleet rate at which Redis's thread is full", p.rps/math.Max(1e-9, mean(load)))
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// poisson draws a Poisson count with mean m (a normal approximation above 500).
func poisson(rng *rand.Rand, m float64) int {
	if m > 500 {
		return max(0, int(math.Round(m+math.Sqrt(m)*rng.NormFloat64())))
	}
	l, k, q := math.Exp(-m), 0, 1.0
	for {
		q *= rng.Float64()
		if q <= l {
			return k
		}
		k++
	}
}

// binomial draws how many of n trials succeed with probability q (normal approximation).
func binomial(rng *rand.Rand, n int, q float64) int {
	if n == 0 || q <= 0 {
		return 0
	}
	if q >= 1 {
		return n
	}
	m, sd := float64(n)*q, math.Sqrt(float64(n)*q*(1-q))
	return min(n, max(0, int(math.Round(m+sd*rng.NormFloat64()))))
}
