// Command bench measures the gateway against a direct call to its upstream, nginx as a keep-alive
// reverse proxy (the peer the project's goals are set against) and a bare fasthttp reverse proxy
// (the floor: what any extra hop costs), all on 127.0.0.1, and prints one table. `make bench`
// runs it; see bench/README.md for what each row means.
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
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/valyala/fasthttp"
)

const (
	benchKey   = "bench-key-0123456789abcdef"
	benchAdmin = "bench-admin-0123456789abcdef"
	chatPath   = "/v1/chat/completions"
)

var chatRequest = []byte(`{"model":"bench","messages":[{"role":"system","content":"You are a concise assistant."},` +
	`{"role":"user","content":"Summarise the plot of a short story about a fox and a dog in one sentence, please."}],"temperature":0.2}`)

var streamRequest = []byte(`{"model":"bench","stream":true,"messages":[{"role":"user","content":"Count to twenty."}]}`)

type target struct {
	name       string // a column of the table
	addr       string // host:port
	pid        int    // whose CPU and memory are its own
	path       string // chatPath
	streamPath string // where streams go; path when empty
	auth       bool
	body       []byte // default: chatRequest
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
	iomFlag := flag.String("iom", "", "a prebuilt iom `binary` to measure instead of building ./cmd/iom")
	targetsFlag := flag.String("targets", "direct,proxy,nginx,gateway,cluster", "the targets to measure, of direct, proxy (the bare proxy), nginx, gateway and cluster (3 gateways sharing Redis behind nginx)")
	flag.Parse()
	switch *role {
	case "mock":
		runMock(*addr)
		return
	case "proxy":
		runProxy(*addr, *upstream)
		return
	}
	if *rounds < 1 {
		log.Fatalf("-rounds is %d; at least one is needed", *rounds)
	}
	var rates []int
	for _, s := range strings.Split(*ratesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			log.Fatalf("cannot parse rate %q of -rates", s)
		}
		rates = append(rates, n)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*targetsFlag, ",") {
		switch s = strings.TrimSpace(s); s {
		case "direct", "proxy", "nginx", "gateway", "cluster":
			want[s] = true
		default:
			log.Fatalf("unknown target %q in -targets; the targets are direct, proxy, nginx, gateway and cluster", s)
		}
	}

	cleanupOnSignal()
	tmp, err := os.MkdirTemp("", "iom-bench-")
	if err != nil {
		log.Fatal(err)
	}
	children.Lock()
	children.scratch = tmp
	children.Unlock()
	defer cleanup()
	info := runInfo{rounds: *rounds, duration: *duration, maxDuration: *maxDuration, conns: *conns, streams: *streams, rates: rates}

	var iom string
	if want["gateway"] || want["cluster"] {
		iom = gatewayBinary(*iomFlag, tmp)
	}

	// The mock serves every target; each target is a process of its own in front of it.
	self, _ := os.Executable()
	mockAddr := freePort()
	mock := startChild("mock", self, "-role", "mock", "-addr", mockAddr)
	type listener struct {
		c    *child
		addr string
	}
	starting := []listener{{mock, mockAddr}}
	var targets []target
	if want["direct"] {
		targets = append(targets, target{name: "direct", addr: mockAddr, pid: mock.pid(), path: chatPath})
	}
	if want["proxy"] {
		a := freePort()
		c := startChild("bare proxy", self, "-role", "proxy", "-addr", a, "-upstream", mockAddr)
		starting = append(starting, listener{c, a})
		targets = append(targets, target{name: "bare proxy", addr: a, pid: c.pid(), path: chatPath})
	}
	if want["nginx"] {
		if path, err := findNginx(); err != nil {
			info.notes = append(info.notes, fmt.Sprintf("no nginx rows and no goals: %v", err))
		} else {
			a := freePort()
			c := startNginx(path, filepath.Join(tmp, "nginx"), a, mockAddr)
			starting = append(starting, listener{c, a})
			targets = append(targets, target{name: "nginx", addr: a, pid: c.pid(), path: chatPath, streamPath: nginxStreamPath})
			info.nginx = nginxVersion(path)
		}
	}
	var gw, gwExtras target
	if want["gateway"] {
		gwAddr, adminAddr := freePort(), freePort()
		cfg := filepath.Join(tmp, "iom.yaml")
		os.WriteFile(cfg, []byte(gatewayConfig(gwAddr, adminAddr, filepath.Join(tmp, "data"), mockAddr)), 0o600)
		c := startChild("gateway", iom, "serve", "--config", cfg)
		starting = append(starting, listener{c, gwAddr})
		gw = target{name: "gateway", addr: gwAddr, pid: c.pid(), path: chatPath, auth: true}
		targets = append(targets, gw)
		// The plugin and pipeline rows run on a second gateway, so that what they load (WASM
		// runtimes, plugin processes) stays out of the core gateway's CPU and memory rows.
		xAddr, xAdmin := freePort(), freePort()
		xcfg := filepath.Join(tmp, "iom-extras.yaml")
		os.WriteFile(xcfg, []byte(extrasConfig(xAddr, xAdmin, filepath.Join(tmp, "data-extras"), mockAddr, *pluginsDir)), 0o600)
		x := startChild("gateway with plugins", iom, "serve", "--config", xcfg)
		starting = append(starting, listener{x, xAddr})
		gwExtras = target{name: "gateway with plugins", addr: xAddr, path: chatPath, auth: true}
	}
	for _, l := range starting {
		if err := l.c.waitReady(l.addr, 10*time.Second); err != nil {
			fatalf("%v", err)
		}
	}
	if len(targets) == 0 && !want["cluster"] {
		fatalf("no target to measure")
	}

	step("warming up")
	for _, t := range targets {
		attack(t, 500, time.Second)
	}
	res := map[string]*result{}
	for _, t := range targets {
		res[t.name] = &result{fixed: map[int]*quantiles{}}
		for _, rate := range rates {
			res[t.name].fixed[rate] = &quantiles{}
		}
	}

	// Fixed rates, open loop. Targets are interleaved within each round so drift hits all alike.
	for r := 1; r <= *rounds; r++ {
		for _, rate := range rates {
			for _, t := range targets {
				step(fmt.Sprintf("round %d: %d rps against %s", r, rate, t.name))
				m := attack(t, rate, *duration)
				res[t.name].fixed[rate].add(m.Latencies.P50, m.Latencies.P90, m.Latencies.P99)
				if m.Success < 0.999 {
					log.Printf("warning: %s at %d rps: success %.4f, errors %v", t.name, rate, m.Success, m.Errors)
				}
			}
		}
	}

	// One connection, closed loop: the least noisy view of what each hop costs.
	for range *rounds {
		for _, t := range targets {
			step("one connection against " + t.name)
			lat := latencies(t, *duration)
			res[t.name].seq.add(percentile(lat, 50), percentile(lat, 90), percentile(lat, 99))
		}
	}

	var gr *gatewayRows
	if want["gateway"] {
		gr = measureGatewayRows(gw, gwExtras, *rounds, *duration, *pluginsDir)
	}

	// Max throughput, closed loop, in rounds taken in turn: one run swings by several percent
	// here, so the table shows each target's median round.
	for r := 1; r <= *rounds; r++ {
		for _, t := range targets {
			step(fmt.Sprintf("round %d: max throughput against %s", r, t.name))
			cpu0 := cpuTime(t.pid)
			rps, total := closedLoop(t, *conns, *maxDuration, tmp)
			cpu := cpuTime(t.pid) - cpu0
			mr := maxRun{rps: rps}
			if total > 0 {
				mr.cpuPerReq = cpu / time.Duration(total)
			}
			res[t.name].max = append(res[t.name].max, mr)
		}
	}

	// Streams: 20 chunks, sequential requests.
	for _, t := range targets {
		step("streaming against " + t.name)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
		for i := range *streams {
			first, end, err := streamOnce(client, t)
			if err != nil {
				fatalf("stream via %s: %v", t.name, err)
			}
			if i >= 10 { // skip warm-up
				res[t.name].first = append(res[t.name].first, first)
				res[t.name].end = append(res[t.name].end, end)
			}
		}
		client.CloseIdleConnections()
	}
	for _, t := range targets {
		res[t.name].mem = memStatus(t.pid)
	}
	// The cluster runs last, on its own, so that its five processes stay out of the rows above.
	if want["cluster"] {
		var note string
		if info.cluster, note = measureCluster(iom, filepath.Join(tmp, "cluster"), mockAddr, *rounds, *conns, *maxDuration); note != "" {
			info.notes = append(info.notes, note)
		}
	}
	if gr != nil {
		gr.runGoBenchmarks()
	}
	report(info, res, gr)
}

// gatewayBinary is the iom binary to measure: the one given, or ./cmd/iom built into dir. Both
// gateways run it.
func gatewayBinary(given, dir string) string {
	if given != "" {
		abs, err := filepath.Abs(given)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			fatalf("cannot use -iom %q: %v", given, err)
		}
		return abs
	}
	step("building the gateway")
	out := filepath.Join(dir, "iom")
	if msg, err := exec.Command("go", "build", "-o", out, "./cmd/iom").CombinedOutput(); err != nil {
		fatalf("cannot build ./cmd/iom: %v\n%s", err, msg)
	}
	return out
}

// result is what one target measured, each figure once per round where there are rounds.
type result struct {
	fixed      map[int]*quantiles // by rate, open loop
	seq        quantiles          // one connection
	max        []maxRun           // closed loop
	first, end []time.Duration    // streams: to the first event, to [DONE]
	mem        map[string]int64   // its /proc/PID/status at the end
}

type quantiles struct{ p50, p90, p99 []time.Duration }

func (q *quantiles) add(p50, p90, p99 time.Duration) {
	q.p50 = append(q.p50, p50)
	q.p90 = append(q.p90, p90)
	q.p99 = append(q.p99, p99)
}

type maxRun struct {
	rps       float64
	cpuPerReq time.Duration
}

// gatewayRows are the rows measured on the gateway alone: the fallback path and a cache hit on
// the core gateway; plugins and a pipeline step on the second; the Go benchmarks of the parts.
type gatewayRows struct {
	paths       [][]time.Duration // the plain path, the fallback path, a cache hit
	extras      []extraRow
	xlat        [][]time.Duration // the plain path with a 1 KB body, then each of extras
	plugins     bool              // the example plugins are built in pluginsDir
	pluginsDir  string
	perStep     time.Duration
	stepErr     error
	pluginFloor time.Duration
	pluginErr   error
	// traces are a request's time with telemetry off and on (BenchmarkTelemetry).
	tracesOff, tracesOn time.Duration
	tracesErr           error
	// toolDirect and toolGateway are an MCP tool call's p50 straight to its server and through
	// the gateway's /mcp (BenchmarkMCPToolCall).
	toolDirect, toolGateway time.Duration
	toolErr                 error
}

func measureGatewayRows(gw, gwExtras target, rounds int, d time.Duration, pluginsDir string) *gatewayRows {
	gr := &gatewayRows{plugins: hasPlugins(pluginsDir), pluginsDir: pluginsDir}
	// The fallback path (the primary fails fast, its fallback answers) and a cache hit against the
	// plain path on the core gateway; then plugins and a pipeline step on a 1 KB request against
	// the plain path with the same body on the second gateway.
	step("fallback path and cache hit")
	gr.paths = interleaved(gw, rounds*10, d/10, chatRequest,
		bytes.Replace(chatRequest, []byte(`"bench"`), []byte(`"bench-broken"`), 1),
		bytes.Replace(chatRequest, []byte(`"bench"`), []byte(`"bench-cached"`), 1))
	gr.extras = extraRows(pluginsDir)
	bodies := [][]byte{request1KB("bench")}
	for _, x := range gr.extras {
		bodies = append(bodies, request1KB(x.model))
	}
	step("plugins and a pipeline step, 1 KB requests")
	gr.xlat = interleaved(gwExtras, rounds*10, d/10, bodies...)
	return gr
}

func (gr *gatewayRows) runGoBenchmarks() {
	gr.perStep, gr.stepErr = goBench("the pipeline engine's step benchmark", "./gateway/pipeline", "StepOverhead", "2s", "µs/step")
	if gr.plugins {
		gr.pluginFloor, gr.pluginErr = goBench("a plugin call's round trip", "./plugins", "Transform1KB", "3000x", "p50-µs")
	}
	gr.tracesOff, gr.tracesOn, gr.tracesErr = tracesBench()
	gr.toolDirect, gr.toolGateway, gr.toolErr = toolBench("2000x")
}

// toolBench runs BenchmarkMCPToolCall of the server: one MCP tool call at a time, straight to a
// streamable HTTP MCP server and through the gateway's /mcp, in turns, each on its own kept-alive
// connection; the p50 of each.
func toolBench(benchtime string) (direct, gateway time.Duration, err error) {
	step("an MCP tool call, direct and through the gateway")
	out, err := exec.Command("go", "test", "./gateway/server", "-run", "^$", "-bench", "^BenchmarkMCPToolCall$", "-benchtime", benchtime).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("%v\n%s", err, out)
	}
	for _, v := range []struct {
		unit string
		dst  *time.Duration
	}{{"direct-p50-µs", &direct}, {"gateway-p50-µs", &gateway}} {
		m := regexp.MustCompile(`([0-9.]+) ` + regexp.QuoteMeta(v.unit)).FindSubmatch(out)
		if m == nil {
			return 0, 0, fmt.Errorf("no %s in:\n%s", v.unit, out)
		}
		us, _ := strconv.ParseFloat(string(m[1]), 64)
		*v.dst = time.Duration(us * float64(time.Microsecond))
	}
	return direct, gateway, nil
}

// tracesBench runs BenchmarkTelemetry of the server: one sequential chat completion through a
// gateway with traces off, then on (every request's spans exported); the time per request of each.
func tracesBench() (off, on time.Duration, err error) {
	step("traces off and on")
	out, err := exec.Command("go", "test", "./gateway/server", "-run", "^$", "-bench", "^BenchmarkTelemetry$", "-benchtime", "3000x").CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("%v\n%s", err, out)
	}
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{{"off", &off}, {"on", &on}} {
		m := regexp.MustCompile(`BenchmarkTelemetry/` + v.name + `\S*\s+\d+\s+([0-9.]+) ns/op`).FindSubmatch(out)
		if m == nil {
			return 0, 0, fmt.Errorf("no time per request with traces %s in:\n%s", v.name, out)
		}
		ns, _ := strconv.ParseFloat(string(m[1]), 64)
		*v.dst = time.Duration(ns)
	}
	return off, on, nil
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

// closedLoop drives t as fast as it answers, with wrk when it is installed (its script written
// into dir), else with a Go loader.
func closedLoop(t target, conns int, d time.Duration, dir string) (rps float64, total int64) {
	if path, err := exec.LookPath("wrk"); err == nil {
		script := filepath.Join(dir, "wrk.lua")
		auth := ""
		if t.auth {
			auth = `wrk.headers["Authorization"] = "Bearer ` + benchKey + `"` + "\n"
		}
		os.WriteFile(script, []byte("wrk.method = \"POST\"\nwrk.body = '"+string(chatRequest)+"'\n"+
			"wrk.headers[\"Content-Type\"] = \"application/json\"\n"+auth), 0o600)
		out, err := exec.Command(path, "-t", "2", "-c", strconv.Itoa(conns), "-d", d.String(), "-s", script, "http://"+t.addr+t.path).CombinedOutput()
		if err != nil {
			fatalf("wrk: %v\n%s", err, out)
		}
		m, n := wrkRPS.FindSubmatch(out), wrkTotal.FindSubmatch(out)
		if m == nil || n == nil {
			fatalf("cannot read wrk output:\n%s", out)
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
			fatalf("%s: %v %d %.300s", t.name, err, resp.StatusCode(), resp.Body())
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
	path := cmp.Or(t.streamPath, t.path)
	req, _ := http.NewRequest("POST", "http://"+t.addr+path, bytes.NewReader(streamRequest))
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
