package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
)

// The test binary is also the stdio MCP server the tests start: run with this variable set, it
// serves a few tools over stdin and stdout.
const stdioEnv = "IOM_MCP_TEST_STDIO"

func TestMain(m *testing.M) {
	if os.Getenv(stdioEnv) == "1" {
		serveStdio()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type textIn struct {
	Text string `json:"text"`
}

func text(s string) *sdk.CallToolResult {
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}
}

func serveStdio() {
	srv := sdk.NewServer(&sdk.Implementation{Name: "stdio-test", Version: "1"}, nil)
	sdk.AddTool(srv, &sdk.Tool{Name: "echo", Description: "echoes text"},
		func(_ context.Context, _ *sdk.CallToolRequest, in textIn) (*sdk.CallToolResult, any, error) {
			return text("stdio:" + in.Text), nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "env", Description: "tells the named variables of its environment"},
		func(_ context.Context, _ *sdk.CallToolRequest, in textIn) (*sdk.CallToolResult, any, error) {
			var parts []string
			for _, name := range strings.Fields(in.Text) {
				v, ok := os.LookupEnv(name)
				parts = append(parts, fmt.Sprintf("%s=%v:%s", name, ok, v))
			}
			return text(strings.Join(parts, " ")), nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "pid"}, func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
		return text(fmt.Sprint(os.Getpid())), nil, nil
	})
	sdk.AddTool(srv, &sdk.Tool{Name: "crash", Description: "exits in the middle of the call"},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			os.Exit(3)
			return nil, nil, nil
		})
	srv.AddPrompt(&sdk.Prompt{Name: "greet", Description: "greets someone", Arguments: []*sdk.PromptArgument{{Name: "who", Required: true}}},
		func(_ context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
			return &sdk.GetPromptResult{Messages: []*sdk.PromptMessage{{Role: "user", Content: &sdk.TextContent{Text: "hello " + req.Params.Arguments["who"]}}}}, nil
		})
	_ = srv.Run(context.Background(), &sdk.StdioTransport{})
}

// httpUpstream is a streamable HTTP MCP server on 127.0.0.1 that wants the header
// X-Upstream-Token: s3cret.
func httpUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "http-test", Version: "1"}, nil)
	for _, name := range []string{"web_search", "web_delete", "echo"} {
		sdk.AddTool(srv, &sdk.Tool{Name: name, Description: name + " tool"},
			func(_ context.Context, _ *sdk.CallToolRequest, in textIn) (*sdk.CallToolResult, any, error) {
				return text(name + ":" + in.Text), nil, nil
			})
	}
	sdk.AddTool(srv, &sdk.Tool{Name: "slow", Description: "reports progress three times, 150 ms apart"},
		func(ctx context.Context, req *sdk.CallToolRequest, _ struct{}) (*sdk.CallToolResult, any, error) {
			for i := 1; i <= 3; i++ {
				if tok := req.Params.GetProgressToken(); tok != nil {
					_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: 3, Message: fmt.Sprint("step ", i)})
				}
				time.Sleep(150 * time.Millisecond)
			}
			return text("done"), nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "burst", Description: "reports progress five times and answers at once"},
		func(ctx context.Context, req *sdk.CallToolRequest, _ struct{}) (*sdk.CallToolResult, any, error) {
			for i := 1; i <= 5; i++ {
				_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: req.Params.GetProgressToken(), Progress: float64(i), Total: 5})
			}
			return text("burst"), nil, nil
		})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Upstream-Token") != "s3cret" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

var (
	acmeKey  = &policy.Key{ID: "config:acme-app", Name: "acme-app", Org: "acme"}
	otherKey = &policy.Key{ID: "config:other-app", Name: "other-app", Org: "other"}
)

type recorder struct {
	mu   sync.Mutex
	invs []analytics.Invocation
}

func (r *recorder) record(inv *analytics.Invocation) {
	r.mu.Lock()
	r.invs = append(r.invs, *inv)
	r.mu.Unlock()
}

func (r *recorder) all() []analytics.Invocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.invs)
}

// front serves svc on 127.0.0.1 with two keys, "acme-token" and "other-token".
func front(t *testing.T, svc *Service) string {
	t.Helper()
	keys := map[string]*policy.Key{"Bearer acme-token": acmeKey, "Bearer other-token": otherKey}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := keys[r.Header.Get("Authorization")]
		if key == nil {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		svc.ServeHTTP(w, r, key)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func testSpecs(t *testing.T, upstreamURL string) []spec.MCPServer {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	specs := []spec.MCPServer{
		{ID: "search", URL: upstreamURL, SecurityPolicy: spec.Private, AllowedKeys: []string{acmeKey.ID},
			Headers: map[string]secret.Secret{"X-Upstream-Token": secret.New("s3cret")},
			Tools:   &spec.ToolFilter{Allow: []string{"web_*", "slow", "burst"}, Deny: []string{"web_delete"}}},
		{ID: "local", Command: []string{exe, "-test.run=^$"}, Env: []string{stdioEnv + "=1"}, SecurityPolicy: spec.Public},
	}
	for i := range specs {
		specs[i].Normalize()
	}
	return specs
}

type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

type progressLog struct {
	mu    sync.Mutex
	times []time.Time
	vals  []float64
}

// connect opens a client session through the gateway with token, collecting progress.
func connect(t *testing.T, url, token string, progress *progressLog) (*sdk.ClientSession, error) {
	t.Helper()
	opts := &sdk.ClientOptions{}
	if progress != nil {
		opts.ProgressNotificationHandler = func(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
			progress.mu.Lock()
			progress.times = append(progress.times, time.Now())
			progress.vals = append(progress.vals, req.Params.Progress)
			progress.mu.Unlock()
		}
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "test-agent", Version: "1"}, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url,
		HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}, MaxRetries: -1}, nil)
	if err == nil {
		t.Cleanup(func() { _ = sess.Close() })
	}
	return sess, err
}

// waitTools polls the session's tools until they are want (sorted), or fails after 20 s.
func waitTools(t *testing.T, sess *sdk.ClientSession, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		res, err := sess.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, tool := range res.Tools {
			got = append(got, tool.Name)
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("tools: got %v, want %v", got, want)
}

func callText(t *testing.T, sess *sdk.ClientSession, name string, args any) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := sess.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	if len(res.Content) != 1 {
		t.Fatalf("%s: content %v", name, res.Content)
	}
	return res.Content[0].(*sdk.TextContent).Text, nil
}

func newService(t *testing.T, o Options) *Service {
	t.Helper()
	svc := New(o)
	t.Cleanup(svc.Close)
	return svc
}

func TestListCallAndPolicies(t *testing.T) {
	up := httpUpstream(t)
	rec := &recorder{}
	svc := newService(t, Options{Record: rec.record})
	specs := testSpecs(t, up.URL)
	svc.SetConfig(specs)
	url := front(t, svc)

	acme, err := connect(t, url, "acme-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitTools(t, acme, []string{"local__crash", "local__echo", "local__env", "local__pid", "search__burst", "search__slow", "search__web_search"})
	got, err := callText(t, acme, "search__web_search", map[string]any{"text": "go"})
	if err != nil || got != "web_search:go" {
		t.Fatalf("search__web_search: %q, %v", got, err)
	}
	got, err = callText(t, acme, "local__echo", map[string]any{"text": "hi"})
	if err != nil || got != "stdio:hi" {
		t.Fatalf("local__echo: %q, %v", got, err)
	}
	// The servers' prompts are there too, named the same way.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := acme.ListPrompts(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Prompts) == 1 && res.Prompts[0].Name == "local__greet" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prompts %+v", res.Prompts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pr, err := acme.GetPrompt(context.Background(), &sdk.GetPromptParams{Name: "local__greet", Arguments: map[string]string{"who": "ana"}})
	if err != nil || len(pr.Messages) != 1 || pr.Messages[0].Content.(*sdk.TextContent).Text != "hello ana" {
		t.Fatalf("local__greet: %+v %v", pr, err)
	}
	// A tool the filter denies, or never allowed, is refused as unknown.
	for _, name := range []string{"search__web_delete", "search__echo", "nowhere__echo"} {
		if _, err := callText(t, acme, name, map[string]any{"text": "x"}); err == nil || !strings.Contains(err.Error(), "unknown tool") {
			t.Errorf("%s: want an unknown-tool error, got %v", name, err)
		}
	}

	// The private server is invisible to another org's key, and refused on call.
	other, err := connect(t, url, "other-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitTools(t, other, []string{"local__crash", "local__echo", "local__env", "local__pid"})
	if _, err := callText(t, other, "search__web_search", map[string]any{"text": "x"}); err == nil {
		t.Fatal("another org's key called a private server's tool")
	}

	// Tool calls are recorded, with the key and the tool's name.
	invs := rec.all()
	var ok int
	for _, inv := range invs {
		if inv.Op != "tool" || inv.Provider != "mcp" {
			t.Errorf("record %+v", inv)
		}
		if inv.Status == "ok" && inv.KeyID == acmeKey.ID && (inv.Model == "search__web_search" || inv.Model == "local__echo") {
			ok++
		}
	}
	if ok != 2 {
		t.Fatalf("want 2 successful records, got %+v", invs)
	}

	// A changed filter reaches open sessions: the tool appears without reconnecting.
	specs[0].Tools = &spec.ToolFilter{Allow: []string{"web_*", "slow", "burst"}}
	svc.SetConfig(specs)
	waitTools(t, acme, []string{"local__crash", "local__echo", "local__env", "local__pid", "search__burst", "search__slow", "search__web_delete", "search__web_search"})
}

func TestProgressIsStreamed(t *testing.T) {
	up := httpUpstream(t)
	svc := newService(t, Options{})
	svc.SetConfig(testSpecs(t, up.URL)[:1])
	url := front(t, svc)
	progress := &progressLog{}
	sess, err := connect(t, url, "acme-token", progress)
	if err != nil {
		t.Fatal(err)
	}
	waitTools(t, sess, []string{"search__burst", "search__slow", "search__web_search"})
	params := &sdk.CallToolParams{Name: "search__slow", Arguments: map[string]any{}}
	params.SetProgressToken("my-token")
	res, err := sess.CallTool(context.Background(), params)
	done := time.Now()
	if err != nil || res.IsError {
		t.Fatalf("call: %v %+v", err, res)
	}
	progress.mu.Lock()
	vals, first := slices.Clone(progress.vals), progress.times[0]
	progress.mu.Unlock()
	if !slices.Equal(vals, []float64{1, 2, 3}) {
		t.Fatalf("progress %v", vals)
	}
	// Each notification arrived as it was sent, not with the result.
	if gap := done.Sub(first); gap < 300*time.Millisecond {
		t.Fatalf("the first progress notification came %v before the result: buffered", gap)
	}
	// Notifications sent right before the result are all passed on.
	params = &sdk.CallToolParams{Name: "search__burst", Arguments: map[string]any{}}
	params.SetProgressToken(42)
	for i := 0; i < 20; i++ {
		progress.mu.Lock()
		progress.vals = nil
		progress.mu.Unlock()
		if _, err := sess.CallTool(context.Background(), params); err != nil {
			t.Fatal(err)
		}
		// The client, too, hands notifications to a queue of its own: they may be handled
		// just after the result, but none may be lost.
		var got []float64
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			progress.mu.Lock()
			got = slices.Clone(progress.vals)
			progress.mu.Unlock()
			if len(got) == 5 {
				break
			}
		}
		if !slices.Equal(got, []float64{1, 2, 3, 4, 5}) {
			t.Fatalf("call %d: progress %v", i, got)
		}
	}
}

func TestStdioServerCrashMidCall(t *testing.T) {
	exe, _ := os.Executable()
	rec := &recorder{}
	svc := newService(t, Options{Record: rec.record})
	svc.SetConfig(testSpecs(t, "http://127.0.0.1:1/mcp")[1:])
	url := front(t, svc)
	sess, err := connect(t, url, "other-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitTools(t, sess, []string{"local__crash", "local__echo", "local__env", "local__pid"})
	before, err := callText(t, sess, "local__pid", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = callText(t, sess, "local__crash", nil)
	if err == nil {
		t.Fatal("a crashed server's call succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, `MCP server "local" closed the connection during the call`) || strings.Contains(msg, exe) {
		t.Fatalf("error: %s", msg)
	}
	// The gateway starts the server again; the next call works.
	after, err := callText(t, sess, "local__pid", nil)
	if err != nil {
		t.Fatalf("call after the crash: %v", err)
	}
	if after == before {
		t.Fatal("the server was not restarted")
	}
	var failed bool
	for _, inv := range rec.all() {
		if inv.Model == "local__crash" && inv.Status == "error" && inv.HTTPStatus == 502 && !strings.Contains(inv.Error, exe) {
			failed = true
		}
	}
	if !failed {
		t.Fatalf("no record of the failed call: %+v", rec.all())
	}
}

func TestSessionBoundsAndAdmission(t *testing.T) {
	up := httpUpstream(t)
	limited := false
	var mu sync.Mutex
	svc := newService(t, Options{MaxSessionsPerKey: 1, Admit: func(*policy.Key) *fault.Error {
		mu.Lock()
		defer mu.Unlock()
		if limited {
			return fault.Limited(1, "rate limit of key %q reached", "acme-app")
		}
		return nil
	}})
	svc.SetConfig(testSpecs(t, up.URL)[:1])
	url := front(t, svc)
	sess, err := connect(t, url, "acme-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, url, "acme-token", nil); err == nil || !strings.Contains(err.Error(), "Too Many Requests") && !strings.Contains(err.Error(), "too many MCP sessions") {
		t.Fatalf("a second session of the key: %v", err)
	}
	// Another key has sessions of its own.
	if _, err := connect(t, url, "other-token", nil); err != nil {
		t.Fatal(err)
	}
	waitTools(t, sess, []string{"search__burst", "search__slow", "search__web_search"})
	mu.Lock()
	limited = true
	mu.Unlock()
	if _, err := callText(t, sess, "search__web_search", map[string]any{"text": "x"}); err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("a limited key's call: %v", err)
	}
	// Ending the session frees its place (once the server has let it go).
	_ = sess.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := connect(t, url, "acme-token", nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a new session after the first ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUpstreamErrorsNameNoAddress(t *testing.T) {
	// Nothing listens there: the server stays unavailable, and the call says so without the URL.
	svc := newService(t, Options{})
	specs := testSpecs(t, "http://127.0.0.1:1/mcp")[:1]
	specs[0].SecurityPolicy = spec.Public
	svc.SetConfig(specs)
	if v, _ := svc.View("search"); v.Headers != nil || strings.Contains(fmt.Sprint(v), "s3cret") {
		t.Fatalf("a view shows the headers: %+v", v)
	}
	b, _ := json.Marshal(svc.Views())
	if strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "X-Upstream-Token") {
		t.Fatalf("views: %s", b)
	}
	u := svc.upstreams["search"]
	jerr, status := u.callError(context.Background(), "search__x", fmt.Errorf("Post %q: dial tcp 127.0.0.1:1: connection refused", specs[0].URL))
	if status != 502 || strings.Contains(jerr.Message, "127.0.0.1") {
		t.Fatalf("%d %s", status, jerr.Message)
	}
	if s := u.redact(fmt.Errorf("Post %q: dial tcp 127.0.0.1:1: refused", specs[0].URL)); strings.Contains(s, "127.0.0.1:1") {
		t.Fatalf("redacted: %s", s)
	}
}

func TestToolFilter(t *testing.T) {
	f := func(filter *spec.ToolFilter, name string, want bool) {
		t.Helper()
		if got := filter.Allows(name); got != want {
			t.Errorf("%+v allows %q: %v, want %v", filter, name, got, want)
		}
	}
	f(nil, "anything", true)
	f(&spec.ToolFilter{Allow: []string{"web_*"}}, "web_search", true)
	f(&spec.ToolFilter{Allow: []string{"web_*"}}, "search_web", false)
	f(&spec.ToolFilter{Allow: []string{"web_*"}, Deny: []string{"web_delete"}}, "web_delete", false)
	f(&spec.ToolFilter{Deny: []string{"*_delete"}}, "web_delete", false)
	f(&spec.ToolFilter{Deny: []string{"*_delete"}}, "web_deleted", true)
	f(&spec.ToolFilter{Allow: []string{"a*b*c"}}, "aXbYc", true)
	f(&spec.ToolFilter{Allow: []string{"a*b*c"}}, "aXcYb", false)
	f(&spec.ToolFilter{Allow: []string{"*"}}, "", true)
	f(&spec.ToolFilter{Allow: []string{"ab*ba"}}, "aba", false)
}

func TestSSEUpstream(t *testing.T) {
	srv := sdk.NewServer(&sdk.Implementation{Name: "sse-test", Version: "1"}, nil)
	sdk.AddTool(srv, &sdk.Tool{Name: "echo"}, func(_ context.Context, _ *sdk.CallToolRequest, in textIn) (*sdk.CallToolResult, any, error) {
		return text("sse:" + in.Text), nil, nil
	})
	ts := httptest.NewServer(sdk.NewSSEHandler(func(*http.Request) *sdk.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	svc := newService(t, Options{})
	decl := spec.MCPServer{ID: "old", URL: ts.URL, Transport: spec.MCPSSE}
	decl.Normalize()
	svc.SetConfig([]spec.MCPServer{decl})
	sess, err := connect(t, front(t, svc), "other-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitTools(t, sess, []string{"old__echo"})
	if got, err := callText(t, sess, "old__echo", map[string]any{"text": "legacy"}); err != nil || got != "sse:legacy" {
		t.Fatalf("old__echo: %q %v", got, err)
	}
}

func TestEgressPolicyRefusesTheUpstream(t *testing.T) {
	up := httpUpstream(t)
	p, err := egress.New(nil, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, Options{Egress: func() *egress.Policy { return p }})
	svc.SetConfig(testSpecs(t, up.URL)[:1])
	sess, err := connect(t, front(t, svc), "acme-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, _ := svc.View("search"); v.State == "unavailable" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server connected through a refused address")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res, err := sess.ListTools(context.Background(), nil); err != nil || len(res.Tools) != 0 {
		t.Fatalf("tools of a refused server: %v %v", res, err)
	}
}

// A key's allowlist names servers as mcp:<id>; when a reload changes it, the key's open
// sessions follow on their next request.
func TestKeyAllowlistFollowsReload(t *testing.T) {
	up := httpUpstream(t)
	svc := newService(t, Options{})
	specs := testSpecs(t, up.URL)
	specs[0].SecurityPolicy = spec.Public
	svc.SetConfig(specs)
	var current atomic.Pointer[policy.Key]
	current.Store(&policy.Key{ID: "config:listed", Name: "listed", Org: "acme", Models: []string{"mcp:local", "gpt-4o"}})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc.ServeHTTP(w, r, current.Load())
	}))
	t.Cleanup(ts.Close)
	sess, err := connect(t, ts.URL, "any", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitTools(t, sess, []string{"local__crash", "local__echo", "local__env", "local__pid"})
	current.Store(&policy.Key{ID: "config:listed", Name: "listed", Org: "acme", Models: []string{"mcp:search"}})
	waitTools(t, sess, []string{"search__burst", "search__slow", "search__web_search"})
}

// A session that sends nothing for SessionIdle is closed, and its place freed.
func TestIdleSessionsClose(t *testing.T) {
	svc := newService(t, Options{SessionIdle: 200 * time.Millisecond, MaxSessionsPerKey: 1})
	url := front(t, svc)
	sess, err := connect(t, url, "acme-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(300 * time.Millisecond)
		if _, err := connect(t, url, "acme-token", nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle session still holds the key's only place")
		}
	}
	if _, err := sess.ListTools(context.Background(), nil); err == nil {
		t.Fatal("an idle session still answers")
	}
}

// A stdio server gets what process plugins get of the gateway's environment, and its own env;
// nothing else (the gateway's keys) reaches it.
func TestStdioServerEnvironment(t *testing.T) {
	t.Setenv("IOM_MASTER_KEY", "do-not-pass")
	t.Setenv("OPENAI_API_KEY", "do-not-pass")
	t.Setenv("TZ", "UTC")
	svc := newService(t, Options{})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	decl := spec.MCPServer{ID: "local", Command: []string{exe, "-test.run=^$"}, Env: []string{stdioEnv + "=1", "EXTRA=yes"}}
	decl.Normalize()
	svc.SetConfig([]spec.MCPServer{decl})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _, fe := svc.CallTool(ctx, nil, "local__env", json.RawMessage(`{"text":"IOM_MASTER_KEY OPENAI_API_KEY TZ EXTRA PATH"}`), Origin{})
	if fe != nil {
		t.Fatal(fe)
	}
	got := out.(string)
	for _, want := range []string{"IOM_MASTER_KEY=false:", "OPENAI_API_KEY=false:", "TZ=true:UTC", "EXTRA=true:yes", "PATH=true:"} {
		if !strings.Contains(got, want) {
			t.Fatalf("environment %q lacks %q", got, want)
		}
	}
}

// requestScoped is a request's context that counts the values read from it once the request
// has ended: the data plane's request context is reused for the next request then.
type requestScoped struct {
	context.Context
	ended atomic.Bool
	late  *atomic.Int32
}

func (c *requestScoped) Value(k any) any {
	if c.ended.Load() {
		c.late.Add(1)
	}
	return c.Context.Value(k)
}

// A session outlives the request that opened it: what it runs later must not read that
// request's context, whose values then belong to another request.
func TestSessionDoesNotKeepItsFirstRequest(t *testing.T) {
	up := httpUpstream(t)
	svc := newService(t, Options{})
	svc.SetConfig(testSpecs(t, up.URL))
	var late atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := &requestScoped{Context: r.Context(), late: &late}
		svc.ServeHTTP(w, r.WithContext(rc), acmeKey)
		rc.ended.Store(true)
	}))
	t.Cleanup(ts.Close)
	sess, err := connect(t, ts.URL, "acme-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitTools(t, sess, []string{"local__crash", "local__echo", "local__env", "local__pid", "search__burst", "search__slow", "search__web_search"})
	for _, tool := range []string{"search__web_search", "local__echo"} {
		if _, err := callText(t, sess, tool, map[string]any{"text": "go"}); err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
	}
	if n := late.Load(); n != 0 {
		t.Fatalf("%d values read from a request's context after it ended", n)
	}
}
