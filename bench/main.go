// Command bench measures the gateway against a direct call to its upstream and against a bare
// fasthttp reverse proxy (the floor: what any extra hop costs), all on 127.0.0.1, and prints one
// table. `make bench` runs it; see bench/README.md for what each row means.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/valyala/fasthttp"
)

const (
	benchKey   = "bench-key-0123456789abcdef"
	benchAdmin = "bench-admin-0123456789abcdef"
)

var chatRequest = []byte(`{"model":"bench","messages":[{"role":"system","content":"You are a concise assistant."},` +
	`{"role":"user","content":"Summarise the plot of a short story about a fox and a dog in one sentence, please."}],"temperature":0.2}`)

var streamRequest = []byte(`{"model":"bench","stream":true,"messages":[{"role":"user","content":"Count to twenty."}]}`)

type target struct {
	name string
	addr string // host:port
	pid  int
	path string // /v1/chat/completions
	auth bool
	body []byte // default: chatRequest
}

func main() {
	role := flag.String("role", "", "internal: mock or proxy")
	addr := flag.String("addr", "", "internal: listen address")
	upstream := flag.String("upstream", "", "internal: upstream address for the proxy")
	duration := flag.Duration("duration", 5*time.Second, "length of each fixed-rate run")
	rounds := flag.Int("rounds", 3, "rounds of the fixed-rate runs (p99 is judged over them)")
	ratesFlag := flag.String("rates", "1000,5000", "fixed request rates")
	maxDuration := flag.Duration("max-duration", 3*time.Second, "length of each max-throughput round")
	conns := flag.Int("conns", 64, "connections of the max-throughput runs")
	streams := flag.Int("streams", 300, "sequential streamed requests per target")
	pluginsDir := flag.String("plugins", "bin/plugins", "the example plugins (`make plugins`); their rows are left out when absent")
	only := flag.String("only", "", "internal: run only the fixed-rate runs against this target (direct, proxy, gateway)")
	flag.Parse()
	switch *role {
	case "mock":
		runMock(*addr)
		return
	case "proxy":
		runProxy(*addr, *upstream)
		return
	}
	var rates []int
	for _, s := range strings.Split(*ratesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			log.Fatalf("bad -rates: %v", err)
		}
		rates = append(rates, n)
	}

	tmp, err := os.MkdirTemp("", "iom-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	self, _ := os.Executable()
	iom := filepath.Join(tmp, "iom")
	step("building the gateway")
	// Two copies: the second gateway below runs its own, so that the two processes share no
	// pages of the executable, each of which would count in both RSS figures and could not be
	// paged out by either (see internal/exetrim).
	iomExtras := iom + "-extras"
	for _, out := range []string{iom, iomExtras} {
		if msg, err := exec.Command("go", "build", "-o", out, "./cmd/iom").CombinedOutput(); err != nil {
			log.Fatalf("build: %v\n%s", err, msg)
		}
	}

	mockAddr, proxyAddr, gwAddr, adminAddr := freePort(), freePort(), freePort(), freePort()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	start := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			log.Fatalf("start %s: %v", name, err)
		}
		procs = append(procs, cmd)
		return cmd
	}
	mock := start(self, "-role", "mock", "-addr", mockAddr)
	proxy := start(self, "-role", "proxy", "-addr", proxyAddr, "-upstream", mockAddr)
	cfg := filepath.Join(tmp, "iom.yaml")
	os.WriteFile(cfg, []byte(gatewayConfig(gwAddr, adminAddr, filepath.Join(tmp, "data"), mockAddr)), 0o600)
	// The plugin and pipeline rows run on a second gateway, so that what they load (WASM runtimes,
	// plugin processes) stays out of the core gateway's CPU and memory rows.
	xAddr, xAdmin := freePort(), freePort()
	xcfg := filepath.Join(tmp, "iom-extras.yaml")
	os.WriteFile(xcfg, []byte(extrasConfig(xAddr, xAdmin, filepath.Join(tmp, "data-extras"), mockAddr, *pluginsDir)), 0o600)
	gw := start(iom, "serve", "--config", cfg)
	start(iomExtras, "serve", "--config", xcfg)
	for _, a := range []string{mockAddr, proxyAddr, gwAddr, xAddr} {
		if err := waitListening(a, 10*time.Second); err != nil {
			log.Fatal(err)
		}
	}
	targets := []target{
		{name: "direct", addr: mockAddr, pid: mock.Process.Pid, path: "/v1/chat/completions"},
		{name: "bare proxy", addr: proxyAddr, pid: proxy.Process.Pid, path: "/v1/chat/completions"},
		{name: "gateway", addr: gwAddr, pid: gw.Process.Pid, path: "/v1/chat/completions", auth: true},
	}

	if *only != "" {
		for _, t := range targets {
			if strings.HasPrefix(t.name, *only) || *only == "proxy" && t.name == "bare proxy" {
				for _, rate := range rates {
					attack(t, 500, time.Second)
					m := attack(t, rate, *duration)
					fmt.Printf("%s %d rps: p50 %s p90 %s p99 %s max %s success %.4f cpu %s\n", t.name, rate, us(m.Latencies.P50),
						us(m.Latencies.P90), us(m.Latencies.P99), us(m.Latencies.Max), m.Success, "")
				}
			}
		}
		return
	}
	step("warming up")
	for _, t := range targets {
		attack(t, 500, time.Second)
	}

	// Fixed rates, open loop. Targets are interleaved within each round so drift hits all alike.
	type lat struct{ p50, p90, p99 []time.Duration }
	fixed := map[int]map[string]*lat{}
	for _, rate := range rates {
		fixed[rate] = map[string]*lat{}
		for _, t := range targets {
			fixed[rate][t.name] = &lat{}
		}
	}
	for r := 1; r <= *rounds; r++ {
		for _, rate := range rates {
			for _, t := range targets {
				step(fmt.Sprintf("round %d: %d rps against %s", r, rate, t.name))
				m := attack(t, rate, *duration)
				l := fixed[rate][t.name]
				l.p50 = append(l.p50, m.Latencies.P50)
				l.p90 = append(l.p90, m.Latencies.P90)
				l.p99 = append(l.p99, m.Latencies.P99)
				if m.Success < 0.999 {
					log.Printf("warning: %s at %d rps: success %.4f, errors %v", t.name, rate, m.Success, m.Errors)
				}
			}
		}
	}

	// One connection, closed loop: the least noisy view of what each hop costs.
	seq := map[string]seqRun{}
	for r := 0; r < *rounds; r++ {
		for _, t := range targets {
			step("one connection against " + t.name)
			s := sequential(t, *duration)
			cur := seq[t.name]
			cur.p50 = append(cur.p50, s.p50)
			cur.p99 = append(cur.p99, s.p99)
			seq[t.name] = cur
		}
	}

	// The fallback path (the primary fails fast, its fallback answers) and a cache hit against the
	// plain path on the core gateway; then plugins and a pipeline step on a 1 KB request against
	// the plain path with the same body on the second gateway.
	step("fallback path and cache hit")
	paths := interleaved(targets[2], *rounds*10, *duration/10, chatRequest,
		bytes.Replace(chatRequest, []byte(`"bench"`), []byte(`"bench-broken"`), 1),
		bytes.Replace(chatRequest, []byte(`"bench"`), []byte(`"bench-cached"`), 1))
	extras := extraRows(*pluginsDir)
	bodies := [][]byte{request1KB("bench")}
	for _, x := range extras {
		bodies = append(bodies, request1KB(x.model))
	}
	step("plugins and a pipeline step, 1 KB requests")
	xlat := interleaved(target{name: "gateway with plugins", addr: xAddr, path: "/v1/chat/completions", auth: true},
		*rounds*10, *duration/10, bodies...)

	// Max throughput, closed loop, in rounds taken in turn: one run swings by several percent
	// here, so the table shows each target's median round.
	type maxRun struct {
		rps       float64
		cpuPerReq time.Duration
	}
	maxRounds := map[string][]maxRun{}
	for r := 1; r <= *rounds; r++ {
		for _, t := range targets {
			step(fmt.Sprintf("round %d: max throughput against %s", r, t.name))
			cpu0 := cpuTime(t.pid)
			rps, total := closedLoop(t, *conns, *maxDuration)
			cpu := cpuTime(t.pid) - cpu0
			mr := maxRun{rps: rps}
			if total > 0 {
				mr.cpuPerReq = cpu / time.Duration(total)
			}
			maxRounds[t.name] = append(maxRounds[t.name], mr)
		}
	}
	maxes := map[string]maxRun{}
	for name, runs := range maxRounds {
		slices.SortFunc(runs, func(a, b maxRun) int { return cmp.Compare(a.rps, b.rps) })
		maxes[name] = runs[len(runs)/2]
	}

	// Streams: 20 chunks, sequential requests.
	type streamRun struct{ first, end []time.Duration }
	streamsBy := map[string]*streamRun{}
	for _, t := range targets {
		step("streaming against " + t.name)
		sr := &streamRun{}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
		for i := 0; i < *streams; i++ {
			first, end, err := streamOnce(client, t)
			if err != nil {
				log.Fatalf("stream via %s: %v", t.name, err)
			}
			if i >= 10 { // skip warm-up
				sr.first = append(sr.first, first)
				sr.end = append(sr.end, end)
			}
		}
		streamsBy[t.name] = sr
	}
	mem := memStatus(gw.Process.Pid)
	rss := mem["VmHWM"]
	perStep, stepErr := goBench("the pipeline engine's step benchmark", "./gateway/pipeline", "StepOverhead", "2s", "µs/step")
	var pluginFloor time.Duration
	var pluginErr error
	if hasPlugins(*pluginsDir) {
		pluginFloor, pluginErr = goBench("a plugin call's round trip", "./plugins", "Transform1KB", "3000x", "p50-µs")
	}

	// The table.
	fmt.Printf("\nIoM bench: %d rounds of %s per fixed rate and of %s closed loop with %d connections, %d streams; all on 127.0.0.1\n\n",
		*rounds, *duration, *maxDuration, *conns, *streams)
	fmt.Printf("%-34s %14s %14s %14s %14s %14s\n", "", "direct", "bare proxy", "gateway", "gw - direct", "gw - proxy")
	row := func(label string, d, p, g time.Duration) {
		fmt.Printf("%-34s %14s %14s %14s %14s %14s\n", label, us(d), us(p), us(g), us(g-d), us(g-p))
	}
	checks := []string{}
	check := func(ok bool, format string, args ...any) {
		mark := "ok  "
		if !ok {
			mark = "MISS"
		}
		checks = append(checks, mark+" "+fmt.Sprintf(format, args...))
	}
	for _, rate := range rates {
		for _, q := range []struct {
			name string
			get  func(*lat) []time.Duration
		}{{"p50", func(l *lat) []time.Duration { return l.p50 }}, {"p90", func(l *lat) []time.Duration { return l.p90 }}, {"p99", func(l *lat) []time.Duration { return l.p99 }}} {
			d, p, g := median(q.get(fixed[rate]["direct"])), median(q.get(fixed[rate]["bare proxy"])), median(q.get(fixed[rate]["gateway"]))
			row(fmt.Sprintf("%d rps %s (median of rounds)", rate, q.name), d, p, g)
			switch q.name {
			case "p50":
				check(g-d <= 170*time.Microsecond, "%d rps: added p50 %s ≤ 170µs", rate, us(g-d))
				check(g-p <= 15*time.Microsecond, "%d rps: our logic over the bare proxy, p50 %s ≤ 15µs", rate, us(g-p))
			case "p99":
				if rate == 1000 {
					check(g-d <= time.Millisecond, "%d rps: added p99 %s ≤ 1ms (rounds: %s)", rate, us(g-d), usList(q.get(fixed[rate]["gateway"])))
				}
			}
		}
	}
	sd1, sp1, sg1 := seq["direct"], seq["bare proxy"], seq["gateway"]
	row("1 connection p50 (median of rounds)", median(sd1.p50), median(sp1.p50), median(sg1.p50))
	row("1 connection p99 (median of rounds)", median(sd1.p99), median(sp1.p99), median(sg1.p99))
	check(median(sg1.p50)-median(sp1.p50) <= 15*time.Microsecond, "1 connection: our logic over the bare proxy, p50 %s ≤ 15µs", us(median(sg1.p50)-median(sp1.p50)))
	pl := percentile(paths[0], 50)
	fallback, hit := percentile(paths[1], 50), percentile(paths[2], 50)
	fmt.Printf("%-34s %44s %14s\n", "fallback path p50 (1 connection)", us(fallback), "+"+us(fallback-pl))
	fmt.Printf("%-34s %44s %14s\n", "cache hit p50 (1 connection)", us(hit), us(hit-pl))
	pl1K := percentile(xlat[0], 50)
	fmt.Printf("%-34s %44s\n", "1 KB request p50 (1 connection)", us(pl1K))
	if pluginErr != nil {
		log.Printf("warning: the plugin round-trip benchmark: %v", pluginErr)
	} else if pluginFloor > 0 {
		// The floor of the process plugin rows, as the bare proxy is the floor of the gateway's.
		fmt.Printf("%-34s %44s\n", "plugin call alone (1 KB, p50)", us(pluginFloor))
	}
	for i, x := range extras {
		m := percentile(xlat[i+1], 50)
		fmt.Printf("%-34s %44s %14s\n", x.label, us(m), "+"+us(m-pl1K))
		if x.target > 0 {
			check(m-pl1K <= x.target, "%s: added p50 %s ≤ %s", x.label, us(m-pl1K), us(x.target))
		}
	}
	if stepErr != nil {
		log.Printf("warning: the pipeline step benchmark: %v", stepErr)
	} else {
		fmt.Printf("%-34s %44s\n", "pipeline engine, per step", us(perStep))
		check(perStep <= 20*time.Microsecond, "pipeline engine overhead %s per step ≤ 20µs", us(perStep))
	}
	if !hasPlugins(*pluginsDir) {
		fmt.Printf("(no plugin rows: %s has no example plugins; run `make plugins`)\n", *pluginsDir)
	}
	d, p, g := maxes["direct"], maxes["bare proxy"], maxes["gateway"]
	fmt.Printf("%-34s %14.0f %14.0f %14.0f %13.2fx %13.2fx\n", "max rps (closed loop)", d.rps, p.rps, g.rps, g.rps/d.rps, g.rps/p.rps)
	fmt.Printf("%-34s %14s %14s %14s\n", "CPU per request at max load", us(d.cpuPerReq), us(p.cpuPerReq), us(g.cpuPerReq))
	check(g.rps >= 0.28*d.rps, "max rps %.2fx direct ≥ 0.28x", g.rps/d.rps)
	check(g.rps >= 0.85*p.rps, "max rps %.2fx the bare proxy ≥ 0.85x", g.rps/p.rps)
	check(g.cpuPerReq <= 30*time.Microsecond, "gateway CPU per request %s ≤ 30µs", us(g.cpuPerReq))
	sd, sp, sg := streamsBy["direct"], streamsBy["bare proxy"], streamsBy["gateway"]
	row("stream: first event p50", median(sd.first), median(sp.first), median(sg.first))
	row("stream: 20 chunks to [DONE] p50", median(sd.end), median(sp.end), median(sg.end))
	check(median(sg.first)-median(sd.first) <= 150*time.Microsecond, "stream first event added %s ≤ 150µs", us(median(sg.first)-median(sd.first)))
	fmt.Printf("%-34s %44.1f MiB\n", "gateway peak RSS", float64(rss)/(1<<20))
	fmt.Printf("%-34s %44s\n", "  at the end: own / mapped files", fmt.Sprintf("%.1f / %.1f MiB", float64(mem["RssAnon"])/(1<<20), float64(mem["RssFile"])/(1<<20)))
	check(rss <= 50<<20, "peak RSS %.1f MiB ≤ 50 MiB", float64(rss)/(1<<20))
	fmt.Println("\nTargets:")
	for _, c := range checks {
		fmt.Println("  " + c)
	}
}

// goBench runs the Go benchmark Benchmark<name> of pkg and returns the metric it reports in
// unit (microseconds): the pipeline engine's cost per step (steps that do nothing), a plugin
// call's round trip without the gateway.
func goBench(what, pkg, name, benchtime, unit string) (time.Duration, error) {
	step(what)
	out, err := exec.Command("go", "test", pkg, "-run", "^$", "-bench", "^Benchmark"+name+"$", "-benchtime", benchtime).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`([0-9.]+) ` + regexp.QuoteMeta(unit)).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no %s in:\n%s", unit, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return time.Duration(v * float64(time.Microsecond)), nil
}

func step(s string) { fmt.Fprintf(os.Stderr, "· %s\n", s) }

func attack(t target, rate int, d time.Duration) vegeta.Metrics {
	h := http.Header{"Content-Type": {"application/json"}}
	if t.auth {
		h.Set("Authorization", "Bearer "+benchKey)
	}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: "http://" + t.addr + t.path, Body: chatRequest, Header: h})
	a := vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.Workers(64), vegeta.MaxWorkers(1024), vegeta.Connections(1024))
	var m vegeta.Metrics
	for res := range a.Attack(tr, vegeta.Rate{Freq: rate, Per: time.Second}, d, t.name) {
		m.Add(res)
	}
	m.Close()
	return m
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
var wrkTotal = regexp.MustCompile(`([0-9]+) requests in`)

// closedLoop drives t as fast as it answers, with wrk when it is installed, else with a Go loader.
func closedLoop(t target, conns int, d time.Duration) (rps float64, total int64) {
	if path, err := exec.LookPath("wrk"); err == nil {
		script := filepath.Join(os.TempDir(), "iom-bench.lua")
		auth := ""
		if t.auth {
			auth = `wrk.headers["Authorization"] = "Bearer ` + benchKey + `"` + "\n"
		}
		os.WriteFile(script, []byte("wrk.method = \"POST\"\nwrk.body = '"+string(chatRequest)+"'\n"+
			"wrk.headers[\"Content-Type\"] = \"application/json\"\n"+auth), 0o600)
		out, err := exec.Command(path, "-t", "2", "-c", strconv.Itoa(conns), "-d", d.String(), "-s", script, "http://"+t.addr+t.path).CombinedOutput()
		if err != nil {
			log.Fatalf("wrk: %v\n%s", err, out)
		}
		m, n := wrkRPS.FindSubmatch(out), wrkTotal.FindSubmatch(out)
		if m == nil || n == nil {
			log.Fatalf("cannot read wrk output:\n%s", out)
		}
		rps, _ = strconv.ParseFloat(string(m[1]), 64)
		total, _ = strconv.ParseInt(string(n[1]), 10, 64)
		if bytes.Contains(out, []byte("Non-2xx")) {
			log.Printf("warning: %s answered errors under load:\n%s", t.name, out)
		}
		return rps, total
	}
	return goLoader(t, conns, d)
}

type seqRun struct{ p50, p99 []time.Duration }

type seqResult struct{ p50, p99 time.Duration }

// sequential sends one request at a time on one connection for d and returns its latencies.
func sequential(t target, d time.Duration) seqResult {
	lat := latencies(t, d)
	return seqResult{p50: percentile(lat, 50), p99: percentile(lat, 99)}
}

// latencies sends one request at a time on one connection for d and returns each one's latency.
func latencies(t target, d time.Duration) []time.Duration {
	hc := &fasthttp.HostClient{Addr: t.addr, MaxConns: 1}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + t.addr + t.path)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	if t.auth {
		req.Header.Set("Authorization", "Bearer "+benchKey)
	}
	body := t.body
	if body == nil {
		body = chatRequest
	}
	req.SetBody(body)
	var lat []time.Duration
	for stop := time.Now().Add(d); time.Now().Before(stop); {
		t0 := time.Now()
		if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
			log.Fatalf("%s: %v %d %.300s", t.name, err, resp.StatusCode(), resp.Body())
		}
		lat = append(lat, time.Since(t0))
	}
	return lat
}

// percentile is the q-th percentile of ds (which it sorts).
func percentile(ds []time.Duration, q int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)*q/100]
}

// interleaved sends each body to t, one request at a time on one connection, in n short runs of
// d taken in turn so that drift hits every body alike, and returns each body's latencies.
func interleaved(t target, n int, d time.Duration, bodies ...[]byte) [][]time.Duration {
	lat := make([][]time.Duration, len(bodies))
	for range n {
		for i, b := range bodies {
			t.body = b
			lat[i] = append(lat[i], latencies(t, d)...)
		}
	}
	return lat
}

func streamOnce(c *http.Client, t target) (first, end time.Duration, err error) {
	req, _ := http.NewRequest("POST", "http://"+t.addr+t.path, bytes.NewReader(streamRequest))
	req.Header.Set("Content-Type", "application/json")
	if t.auth {
		req.Header.Set("Authorization", "Bearer "+benchKey)
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	chunks := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return 0, 0, fmt.Errorf("stream ended early after %d chunks: %v", chunks, err)
		}
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		if chunks == 0 {
			first = time.Since(t0)
		}
		chunks++
		if strings.HasPrefix(line, "data: [DONE]") {
			io.Copy(io.Discard, br)
			return first, time.Since(t0), nil
		}
	}
}

// cpuTime is a process's user+system CPU time so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ
}

// memStatus reads a process's memory figures from /proc/PID/status (VmHWM: peak RSS; RssAnon
// and RssFile: what it holds now, its own memory and mapped files such as its binary), in bytes.
func memStatus(pid int) map[string]int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[2] == "kB" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			out[strings.TrimSuffix(f[0], ":")] = kb << 10
		}
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }

func usList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = us(d)
	}
	return strings.Join(parts, " ")
}
