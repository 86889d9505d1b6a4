package main

import (
	"cmp"
	"fmt"
	"log"
	"slices"
	"strings"
	"time"
)

// runInfo is how the run was made, for the table's heading.
type runInfo struct {
	rounds                int
	duration, maxDuration time.Duration
	conns, streams        int
	rates                 []int
	nginx                 string // its version; empty when it did not run
	notes                 []string
	// cluster is the max-throughput rounds of nginx in front of 3 gateways sharing Redis.
	cluster []maxRun
}

// columns are the targets; after them come what the gateway and nginx add over direct, and what
// the gateway adds over the bare proxy (our own logic).
var columns = []string{"direct", "bare proxy", "nginx", "gateway"}

func row(label string, cells ...string) {
	line := fmt.Sprintf("%-34s", label)
	for _, c := range cells {
		line += fmt.Sprintf(" %14s", c)
	}
	fmt.Println(strings.TrimRight(line, " "))
}

// gatewayRow is a row of the gateway alone: its figure, and what that adds over the path it is
// compared with.
func gatewayRow(label, value, added string) { row(label, "", "", "", value, added) }

// report prints the table, then the project's goals marked ok or MISS. A target that did not run
// shows "-".
func report(info runInfo, res map[string]*result, gr *gatewayRows) {
	fmt.Printf("\nIoM bench: %d rounds of %s per fixed rate and of %s closed loop with %d connections, %d streams; all on 127.0.0.1\n",
		info.rounds, info.duration, info.maxDuration, info.conns, info.streams)
	if info.nginx != "" {
		fmt.Printf("nginx: %s\n", info.nginx)
	}
	for _, n := range info.notes {
		fmt.Printf("(%s)\n", n)
	}
	fmt.Println()
	row("", append(slices.Clone(columns), "gw - direct", "nginx - direct", "gw - proxy")...)

	durations := func(label string, get func(*result) time.Duration) {
		var cells []string
		for _, c := range columns {
			if r := res[c]; r != nil {
				cells = append(cells, us(get(r)))
			} else {
				cells = append(cells, "-")
			}
		}
		diff := func(a, b string) string {
			if res[a] == nil || res[b] == nil {
				return "-"
			}
			return us(get(res[a]) - get(res[b]))
		}
		row(label, append(cells, diff("gateway", "direct"), diff("nginx", "direct"), diff("gateway", "bare proxy"))...)
	}
	for _, rate := range info.rates {
		durations(fmt.Sprintf("%d rps p50 (median of rounds)", rate), func(r *result) time.Duration { return median(r.fixed[rate].p50) })
		durations(fmt.Sprintf("%d rps p90 (median of rounds)", rate), func(r *result) time.Duration { return median(r.fixed[rate].p90) })
		durations(fmt.Sprintf("%d rps p99 (median of rounds)", rate), func(r *result) time.Duration { return median(r.fixed[rate].p99) })
	}
	durations("1 connection p50 (median of rounds)", func(r *result) time.Duration { return median(r.seq.p50) })
	durations("1 connection p99 (median of rounds)", func(r *result) time.Duration { return median(r.seq.p99) })
	if gr != nil {
		gr.print()
	}

	// Each target's median round.
	maxOf := map[string]maxRun{}
	for name, r := range res {
		runs := slices.Clone(r.max)
		slices.SortFunc(runs, func(a, b maxRun) int { return cmp.Compare(a.rps, b.rps) })
		maxOf[name] = runs[len(runs)/2]
	}
	each := func(f func(*result, maxRun) string) []string {
		var cells []string
		for _, c := range columns {
			if r := res[c]; r != nil {
				cells = append(cells, f(r, maxOf[c]))
			} else {
				cells = append(cells, "-")
			}
		}
		return cells
	}
	ratio := func(a, b string) string {
		if res[a] == nil || res[b] == nil {
			return "-"
		}
		return fmt.Sprintf("%.2fx", maxOf[a].rps/maxOf[b].rps)
	}
	row("max rps (closed loop)", append(each(func(_ *result, m maxRun) string { return fmt.Sprintf("%.0f", m.rps) }),
		ratio("gateway", "direct"), ratio("nginx", "direct"), ratio("gateway", "bare proxy"))...)
	row("CPU per request at max load", each(func(_ *result, m maxRun) string { return us(m.cpuPerReq) })...)
	if len(info.cluster) > 0 {
		runs := slices.Clone(info.cluster)
		slices.SortFunc(runs, func(a, b maxRun) int { return cmp.Compare(a.rps, b.rps) })
		m, alone := runs[len(runs)/2], "-"
		if res["gateway"] != nil {
			alone = fmt.Sprintf("%.2fx", m.rps/maxOf["gateway"].rps)
		}
		// What the added column holds here: the cluster's rate over one gateway's.
		gatewayRow("max rps, 3 gateways + nginx + Redis", fmt.Sprintf("%.0f", m.rps), alone)
		gatewayRow("  CPU per request, those 5 processes", us(m.cpuPerReq), "")
	}
	durations("stream: first event p50", func(r *result) time.Duration { return median(r.first) })
	durations("stream: 20 chunks to [DONE] p50", func(r *result) time.Duration { return median(r.end) })
	row("peak RSS, MiB", each(func(r *result, _ maxRun) string { return fmt.Sprintf("%.1f", mib(r.mem["VmHWM"])) })...)
	row("  at the end: own / mapped files", each(func(r *result, _ maxRun) string {
		return fmt.Sprintf("%.1f / %.1f", mib(r.mem["RssAnon"]), mib(r.mem["RssFile"]))
	})...)

	fmt.Println("\nGoals, against nginx in this run:")
	for _, g := range goals(info, res, maxOf) {
		fmt.Println("  " + g)
	}
}

// goals are the project's, each a ratio to nginx measured in the same run: what the gateway adds
// over a direct call at p50 and to a stream's first event, and the rate it serves.
func goals(info runInfo, res map[string]*result, maxOf map[string]maxRun) []string {
	var lines []string
	judge := func(ok bool, format string, args ...any) {
		mark := "ok  "
		if !ok {
			mark = "MISS"
		}
		lines = append(lines, mark+" "+fmt.Sprintf(format, args...))
	}
	added := func(what string, g, n time.Duration, limit float64) {
		ratio := "n/a" // nginx added nothing measurable
		if n > 0 {
			ratio = fmt.Sprintf("%.2f×", float64(g)/float64(n))
		}
		judge(float64(g) <= limit*float64(n), "%s: gateway %s, nginx %s, %s ≤ %g×", what, plus(g), plus(n), ratio, limit)
	}
	rate := 1000
	if !slices.Contains(info.rates, rate) {
		rate = info.rates[0]
	}
	d, n, g := res["direct"], res["nginx"], res["gateway"]
	if d == nil || n == nil || g == nil {
		lines = append(lines, "skip what the gateway adds at p50 and to a stream's first event: they need direct, nginx and gateway in the run")
	} else {
		p50 := func(r *result) time.Duration { return median(r.fixed[rate].p50) }
		added(fmt.Sprintf("p50 at %d rps over direct", rate), p50(g)-p50(d), p50(n)-p50(d), 1.5)
		first := func(r *result) time.Duration { return median(r.first) }
		added("stream first event over direct", first(g)-first(d), first(n)-first(d), 2)
	}
	if n == nil || g == nil {
		lines = append(lines, "skip max rps: it needs nginx and gateway in the run")
	} else {
		gm, nm := maxOf["gateway"].rps, maxOf["nginx"].rps
		judge(gm >= 0.55*nm, "max rps: gateway %.0f, nginx %.0f, %.2f× ≥ 0.55×", gm, nm, gm/nm)
	}
	return lines
}

func (gr *gatewayRows) print() {
	pl := percentile(gr.paths[0], 50)
	fallback, hit := percentile(gr.paths[1], 50), percentile(gr.paths[2], 50)
	gatewayRow("fallback path p50 (1 connection)", us(fallback), plus(fallback-pl))
	gatewayRow("cache hit p50 (1 connection)", us(hit), plus(hit-pl))
	pl1K := percentile(gr.xlat[0], 50)
	gatewayRow("1 KB request p50 (1 connection)", us(pl1K), "")
	if gr.pluginErr != nil {
		log.Printf("warning: the plugin round-trip benchmark: %v", gr.pluginErr)
	} else if gr.pluginFloor > 0 {
		// The floor of the process plugin rows, as the bare proxy is the floor of the gateway's.
		gatewayRow("plugin call alone (1 KB, p50)", us(gr.pluginFloor), "")
	}
	for i, x := range gr.extras {
		m := percentile(gr.xlat[i+1], 50)
		gatewayRow(x.label, us(m), plus(m-pl1K))
	}
	if gr.stepErr != nil {
		log.Printf("warning: the pipeline step benchmark: %v", gr.stepErr)
	} else {
		gatewayRow("pipeline engine, per step", us(gr.perStep), "")
	}
	if gr.tracesErr != nil {
		log.Printf("warning: the traces benchmark: %v", gr.tracesErr)
	} else {
		gatewayRow("traces off (1 connection)", us(gr.tracesOff), "")
		gatewayRow("traces on, all exported (1 connection)", us(gr.tracesOn), plus(gr.tracesOn-gr.tracesOff))
	}
	if gr.toolErr != nil {
		log.Printf("warning: the MCP tool call benchmark: %v", gr.toolErr)
	} else {
		gatewayRow("tool call p50, direct (1 connection)", us(gr.toolDirect), "")
		gatewayRow("tool call p50, through the gateway", us(gr.toolGateway), plus(gr.toolGateway-gr.toolDirect))
	}
	if !gr.plugins {
		fmt.Printf("(no plugin rows: %s has no example plugins; run `make plugins`)\n", gr.pluginsDir)
	}
}

func plus(d time.Duration) string {
	return fmt.Sprintf("%+.0fµs", float64(d)/float64(time.Microsecond))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
