package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// buildMCPServer builds the stdio MCP server of testdata/mcpserver into a temp dir.
func buildMCPServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mcpserver")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/mcpserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// searchUpstream is a streamable HTTP MCP server on 127.0.0.1 with web_search, web_delete and
// echo, which wants the header X-Upstream-Token: s3cret-upstream.
func searchUpstream(t testing.TB) *httptest.Server {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "search", Version: "1"}, nil)
	type in struct {
		Q string `json:"q"`
	}
	for _, name := range []string{"web_search", "web_delete", "echo"} {
		sdk.AddTool(srv, &sdk.Tool{Name: name, Description: "The " + name + " tool"},
			func(_ context.Context, _ *sdk.CallToolRequest, in in) (*sdk.CallToolResult, any, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: name + ":" + in.Q}}}, nil, nil
			})
	}
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Upstream-Token") != "s3cret-upstream" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func mcpConfig(bin, searchURL string) string {
	return `mcpServers:
  - id: local
    command: ["` + bin + `"]
    securityPolicy: public
  - id: search
    url: ` + searchURL + `/mcp
    securityPolicy: private
    allowedKeys: [app]
    headers: {X-Upstream-Token: s3cret-upstream}
    tools: {allow: ["web_*"], deny: ["web_delete"]}
`
}

type keyed struct{ key string }

func (k keyed) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+k.key)
	return http.DefaultTransport.RoundTrip(r)
}

type progressSeen struct {
	mu    sync.Mutex
	at    []time.Time
	steps []float64
}

func mcpClient(t testing.TB, g *gt.Gateway, key string, seen *progressSeen) *sdk.ClientSession {
	t.Helper()
	opts := &sdk.ClientOptions{}
	if seen != nil {
		opts.ProgressNotificationHandler = func(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
			seen.mu.Lock()
			seen.at, seen.steps = append(seen.at, time.Now()), append(seen.steps, req.Params.Progress)
			seen.mu.Unlock()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, opts).Connect(ctx,
		&sdk.StreamableClientTransport{Endpoint: g.DataURL + "/mcp", HTTPClient: &http.Client{Transport: keyed{key}}, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}

func toolNames(t testing.TB, sess *sdk.ClientSession) []string {
	t.Helper()
	res, err := sess.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

func awaitTools(t testing.TB, sess *sdk.ClientSession, want ...string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = toolNames(t, sess); slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("tools %v, want %v", got, want)
}

func call(sess *sdk.ClientSession, name string, args map[string]any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := sess.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	if res.IsError || len(res.Content) != 1 {
		return "", fmt.Errorf("result %+v", res)
	}
	return res.Content[0].(*sdk.TextContent).Text, nil
}

func TestMCPThroughTheDataPlane(t *testing.T) {
	bin := buildMCPServer(t)
	up := searchUpstream(t)
	g := gt.Start(t, "", mcpConfig(bin, up.URL))
	seen := &progressSeen{}
	app := mcpClient(t, g, gt.Key, seen)
	awaitTools(t, app, "local__crash", "local__echo", "local__pid", "local__slow", "search__web_search")

	if got, err := call(app, "search__web_search", map[string]any{"q": "iom"}); err != nil || got != "web_search:iom" {
		t.Fatalf("search__web_search: %q %v", got, err)
	}
	if _, err := call(app, "search__web_delete", map[string]any{"q": "x"}); err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Fatalf("a denied tool: %v", err)
	}

	// Progress goes out through the data plane as it happens, before the result.
	params := &sdk.CallToolParams{Name: "local__slow", Arguments: map[string]any{}}
	params.SetProgressToken(7)
	res, err := app.CallTool(context.Background(), params)
	done := time.Now()
	if err != nil || res.IsError {
		t.Fatalf("local__slow: %v %+v", err, res)
	}
	seen.mu.Lock()
	steps, first := seen.steps, done
	if len(seen.at) > 0 {
		first = seen.at[0]
	}
	seen.mu.Unlock()
	if !slices.Equal(steps, []float64{1, 2, 3}) || done.Sub(first) < 300*time.Millisecond {
		t.Fatalf("progress %v, the first %v before the result", steps, done.Sub(first))
	}

	// Resources are read through the data plane at the URIs the gateway gives them.
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	tmpl, err := app.ListResourceTemplates(rctx, nil)
	if err != nil || len(tmpl.ResourceTemplates) != 1 || tmpl.ResourceTemplates[0].URITemplate != "iom://local/notes://{id}" {
		t.Fatalf("resource templates: %+v %v", tmpl, err)
	}
	read, err := app.ReadResource(rctx, &sdk.ReadResourceParams{URI: "iom://local/notes://7"})
	if err != nil || len(read.Contents) != 1 || read.Contents[0].Text != "note notes://7" || read.Contents[0].URI != "iom://local/notes://7" {
		t.Fatalf("read a resource: %+v %v", read, err)
	}

	// The other org's key sees the public server only, and cannot call the private one.
	other := mcpClient(t, g, gt.OtherKey, nil)
	awaitTools(t, other, "local__crash", "local__echo", "local__pid", "local__slow")
	if _, err := call(other, "search__web_search", map[string]any{"q": "x"}); err == nil {
		t.Fatal("the other org's key called a private server's tool")
	}

	// A stdio server that dies mid-call: a clear error, then the next call works.
	pid, err := call(app, "local__pid", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = call(app, "local__crash", nil)
	if err == nil || !strings.Contains(err.Error(), `MCP server "local" closed the connection during the call`) || strings.Contains(err.Error(), bin) {
		t.Fatalf("crash: %v", err)
	}
	if again, err := call(app, "local__pid", nil); err != nil || again == pid {
		t.Fatalf("after the crash: %q %v (before: %s)", again, err, pid)
	}
	if got, err := call(app, "local__echo", map[string]any{"text": "still here"}); err != nil || got != "echo:still here" {
		t.Fatalf("echo after the crash: %q %v", got, err)
	}

	// Tool calls are records like model invocations.
	g.Flush()
	list := g.Admin("GET", "/api/executions?model=search__web_search", nil).JSON(t)
	data, _ := list["data"].([]any)
	if len(data) == 0 {
		t.Fatalf("no record: %v", list)
	}
	rec := data[0].(map[string]any)
	if rec["op"] != "tool" || rec["status"] != "ok" || rec["key"] != "app" || rec["provider"] != "mcp" {
		t.Fatalf("record %v", rec)
	}
	list = g.Admin("GET", "/api/executions?model=local__note", nil).JSON(t)
	if data, _ := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["op"] != "resource" {
		t.Fatalf("the resource read's record: %v", list)
	}

	// Neither a response nor the log carries the upstream's header, URL or command.
	logs := g.Logs()
	for _, secret := range []string{"s3cret-upstream", strings.TrimPrefix(up.URL, "http://"), bin} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log has %q", secret)
		}
	}
}

// oauthUpstream is a token endpoint for client "gateway" with secret "client-s3cret", and a
// streamable HTTP MCP server with an echo tool that takes only the tokens it issued.
func oauthUpstream(t *testing.T) (mcpURL, tokenURL string) {
	t.Helper()
	var mu sync.Mutex
	issued := map[string]bool{}
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, sec, ok := r.BasicAuth()
		if !ok {
			id, sec = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		w.Header().Set("Content-Type", "application/json")
		if id != "gateway" || sec != "client-s3cret" || r.FormValue("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		mu.Lock()
		tok := fmt.Sprintf("tok-%d", len(issued)+1)
		issued[tok] = true
		mu.Unlock()
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
	}))
	t.Cleanup(tokens.Close)
	srv := sdk.NewServer(&sdk.Implementation{Name: "protected", Version: "1"}, nil)
	type in struct {
		Q string `json:"q"`
	}
	sdk.AddTool(srv, &sdk.Tool{Name: "echo"}, func(_ context.Context, _ *sdk.CallToolRequest, in in) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "protected:" + in.Q}}}, nil, nil
	})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := issued[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		mu.Unlock()
		if !ok {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	return up.URL + "/mcp", tokens.URL + "/token"
}

// An MCP server registered with OAuth client credentials: its tools work through /mcp, and the
// client secret is never shown, kept on update while the origins stay, and asked for again
// when the token endpoint moves.
func TestMCPOAuthAdminAPI(t *testing.T) {
	mcpURL, tokenURL := oauthUpstream(t)
	g := gt.Start(t, "", "")
	app := mcpClient(t, g, gt.Key, nil)
	body := map[string]any{"id": "protected", "url": mcpURL, "org": "acme",
		"oauth": map[string]any{"tokenUrl": tokenURL, "clientId": "gateway", "clientSecret": "client-s3cret", "scopes": []string{"mcp"}}}
	if r := g.Admin("POST", "/api/mcp-servers", body); r.Status != 201 || strings.Contains(string(r.Body), "client-s3cret") ||
		!strings.Contains(string(r.Body), `"hasClientSecret":true`) {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	awaitTools(t, app, "protected__echo")
	if got, err := call(app, "protected__echo", map[string]any{"q": "hi"}); err != nil || got != "protected:hi" {
		t.Fatalf("protected__echo: %q %v", got, err)
	}
	for _, path := range []string{"/api/mcp-servers", "/api/mcp-servers/protected"} {
		if r := g.Admin("GET", path, nil); r.Status != 200 || strings.Contains(string(r.Body), "client-s3cret") ||
			!strings.Contains(string(r.Body), `"clientId":"gateway"`) {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	// An update without the secret keeps it while the origins stay.
	oauth := body["oauth"].(map[string]any)
	delete(oauth, "clientSecret")
	oauth["scopes"] = []string{"mcp", "more"}
	if r := g.Admin("PUT", "/api/mcp-servers/protected", body); r.Status != 200 || !strings.Contains(string(r.Body), `"hasClientSecret":true`) {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	awaitTools(t, app, "protected__echo")
	if got, err := call(app, "protected__echo", map[string]any{"q": "kept"}); err != nil || got != "protected:kept" {
		t.Fatalf("after the update: %q %v", got, err)
	}
	// Moving the token endpoint to another origin without the secret is refused, and says why.
	oauth["tokenUrl"] = strings.Replace(tokenURL, "127.0.0.1", "localhost", 1)
	if r := g.Admin("PUT", "/api/mcp-servers/protected", body); r.Status != 400 || !strings.Contains(string(r.Body), "oauth.clientSecret") ||
		!strings.Contains(string(r.Body), "moved to another origin") {
		t.Fatalf("a moved token endpoint: %d %s", r.Status, r.Body)
	}
	// A wrong secret: the server's status and the call say the token endpoint refused it.
	oauth["tokenUrl"], oauth["clientSecret"] = tokenURL, "wrong"
	if r := g.Admin("PUT", "/api/mcp-servers/protected", body); r.Status != 200 {
		t.Fatalf("update with a wrong secret: %d %s", r.Status, r.Body)
	}
	gt.Eventually(t, 10*time.Second, "the token problem shown", func() bool {
		return strings.Contains(string(g.Admin("GET", "/api/mcp-servers/protected", nil).Body), "the token endpoint answered 401 (invalid_client)")
	})
	if r := g.Admin("POST", "/api/mcp-servers", map[string]any{"id": "bad", "url": mcpURL,
		"oauth": map[string]any{"tokenUrl": "ftp://x", "clientId": "a", "clientSecret": "b"}}); r.Status != 400 ||
		!strings.Contains(string(r.Body), "oauth.tokenUrl: must be an http:// or https:// URL") {
		t.Fatalf("a bad token URL: %d %s", r.Status, r.Body)
	}
	if strings.Contains(g.Logs(), "client-s3cret") || strings.Contains(g.Logs(), strings.TrimPrefix(tokenURL, "http://")) {
		t.Fatal("the log has the secret or the token endpoint")
	}
}

func TestMCPNeedsAKey(t *testing.T) {
	g := gt.Start(t, "", "")
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	for _, key := range []string{"", "wrong-key-0123456789"} {
		r := g.Data("POST", "/mcp", key, init)
		if r.Status != 401 || !strings.Contains(string(r.Body), `"error"`) {
			t.Fatalf("key %q: %d %s", key, r.Status, r.Body)
		}
	}
	// With a key, the request reaches the MCP transport, which wants both media types accepted.
	r := g.Data("POST", "/mcp", gt.Key, init)
	if r.Status != 400 || !strings.Contains(string(r.Body), "Accept must contain both") {
		t.Fatalf("with a key: %d %s", r.Status, r.Body)
	}
	// A key's sessions are its own: another key cannot use one.
	app := mcpClient(t, g, gt.Key, nil)
	req, _ := http.NewRequest("POST", g.DataURL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer "+gt.OtherKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", app.ID())
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("another key's request in a session: %d", res.StatusCode)
	}
}

// Clients of both current protocol versions get a session speaking theirs.
func TestMCPProtocolVersions(t *testing.T) {
	g := gt.Start(t, "", "")
	for _, version := range []string{"2025-06-18", "2025-11-25"} {
		init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + version + `","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
		req, _ := http.NewRequest("POST", g.DataURL+"/mcp", strings.NewReader(init))
		req.Header.Set("Authorization", "Bearer "+gt.Key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), `"protocolVersion":"`+version+`"`) || res.Header.Get("Mcp-Session-Id") == "" {
			t.Fatalf("%s: %d %s", version, res.StatusCode, body)
		}
	}
}

func TestMCPAdminAPI(t *testing.T) {
	bin := buildMCPServer(t)
	up := searchUpstream(t)
	g := gt.Start(t, "", mcpConfig(bin, up.URL))
	app := mcpClient(t, g, gt.Key, nil)
	awaitTools(t, app, "local__crash", "local__echo", "local__pid", "local__slow", "search__web_search")

	list := g.Admin("GET", "/api/mcp-servers", nil)
	if list.Status != 200 || strings.Contains(string(list.Body), "s3cret") || !strings.Contains(string(list.Body), `"headerNames":["X-Upstream-Token"]`) {
		t.Fatalf("list: %d %s", list.Status, list.Body)
	}
	tools := g.Admin("GET", "/api/mcp-servers/search/tools", nil).JSON(t)["data"].([]any)
	var hidden, schema int
	for _, x := range tools {
		tool := x.(map[string]any)
		if tool["hidden"] == true {
			hidden++
		}
		if s, _ := tool["inputSchema"].(map[string]any); s["type"] == "object" {
			schema++
		}
	}
	if len(tools) != 3 || hidden != 2 || schema != 3 {
		t.Fatalf("tools %v", tools)
	}
	if r := g.Admin("GET", "/api/mcp-servers/nope", nil); r.Status != 404 {
		t.Fatalf("unknown server: %d", r.Status)
	}
	if r := g.Admin("DELETE", "/api/mcp-servers/local", nil); r.Status != 409 {
		t.Fatalf("deleting a config server: %d %s", r.Status, r.Body)
	}
	if r := g.Admin("POST", "/api/mcp-servers", map[string]any{"id": "bad__id", "url": "ftp://x"}); r.Status != 400 {
		t.Fatalf("a bad server: %d %s", r.Status, r.Body)
	}

	// The console's test form calls a tool without a key; a tool the filter hides is not there.
	r := g.Admin("POST", "/api/mcp-servers/search/tools/web_search/call", map[string]any{"arguments": map[string]any{"q": "form"}})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"text":"web_search:form"`) {
		t.Fatalf("test call: %d %s", r.Status, r.Body)
	}
	if r := g.Admin("POST", "/api/mcp-servers/search/tools/web_delete/call", map[string]any{}); r.Status != 404 {
		t.Fatalf("a hidden tool: %d %s", r.Status, r.Body)
	}
	if r := g.Admin("POST", "/api/mcp-servers/search/tools/web_search/call", map[string]any{"arguments": []int{1}}); r.Status != 400 {
		t.Fatalf("arguments not an object: %d %s", r.Status, r.Body)
	}

	// A server registered through the API reaches open sessions of the keys it allows.
	body := map[string]any{"id": "more", "url": up.URL + "/mcp", "org": "acme", "headers": map[string]string{"X-Upstream-Token": "s3cret-upstream"},
		"tools": map[string]any{"allow": []string{"echo"}}}
	if r := g.Admin("POST", "/api/mcp-servers", body); r.Status != 201 || strings.Contains(string(r.Body), "s3cret") {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	awaitTools(t, app, "local__crash", "local__echo", "local__pid", "local__slow", "more__echo", "search__web_search")
	if got, err := call(app, "more__echo", map[string]any{"q": "api"}); err != nil || got != "echo:api" {
		t.Fatalf("more__echo: %q %v", got, err)
	}
	// Moving it to another origin without headers drops them, and says so.
	body["url"] = strings.Replace(up.URL, "127.0.0.1", "localhost", 1) + "/mcp"
	delete(body, "headers")
	r = g.Admin("PUT", "/api/mcp-servers/more", body)
	if r.Status != 200 || !strings.Contains(string(r.Body), "headers were dropped") {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	if r := g.Admin("DELETE", "/api/mcp-servers/more", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	awaitTools(t, app, "local__crash", "local__echo", "local__pid", "local__slow", "search__web_search")

	// Shutting down ends the sessions' streams at once.
	start := time.Now()
	g.Stop()
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
}

// A reload changes what open sessions see; a key's rate limit applies to its tool calls.
func TestMCPReloadAndLimits(t *testing.T) {
	bin := buildMCPServer(t)
	up := searchUpstream(t)
	g := gt.Start(t, "", mcpConfig(bin, up.URL))
	app := mcpClient(t, g, gt.Key, nil)
	awaitTools(t, app, "local__crash", "local__echo", "local__pid", "local__slow", "search__web_search")

	body := strings.Replace(mcpConfig(bin, up.URL), `deny: ["web_delete"]`, `deny: []`, 1)
	body = strings.Replace(body, "    securityPolicy: public\n", "    securityPolicy: organization\n    org: globex\n", 1)
	if err := os.WriteFile(g.Config, []byte(gt.Header(filepath.Join(g.Dir, "data"))+body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	awaitTools(t, app, "search__web_delete", "search__web_search")

	r := g.Admin("POST", "/api/keys", map[string]any{"name": "slowpoke", "org": "globex", "limits": map[string]any{"rps": 0.01, "burst": 1}})
	if r.Status != 201 {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}
	value, _ := r.JSON(t)["key"].(string)
	limited := mcpClient(t, g, value, nil)
	awaitTools(t, limited, "local__crash", "local__echo", "local__pid", "local__slow")
	// awaitTools made no call; the first call takes the burst, the second is refused.
	if _, err := call(limited, "local__echo", map[string]any{"text": "1"}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if _, err := call(limited, "local__echo", map[string]any{"text": "2"}); err == nil || !strings.Contains(err.Error(), "limited to 0.01 requests per second") {
		t.Fatalf("second call: %v", err)
	}
}

// With the access log on, /mcp still streams, and each request has its line.
func TestMCPWithTheAccessLog(t *testing.T) {
	bin := buildMCPServer(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	g := gt.Start(t, dir, "accessLog: {enabled: true, file: "+logPath+"}\n"+`mcpServers:
  - id: local
    command: ["`+bin+`"]
`)
	seen := &progressSeen{}
	app := mcpClient(t, g, gt.Key, seen)
	awaitTools(t, app, "local__crash", "local__echo", "local__pid", "local__slow")
	params := &sdk.CallToolParams{Name: "local__slow", Arguments: map[string]any{}}
	params.SetProgressToken("p")
	res, err := app.CallTool(context.Background(), params)
	done := time.Now()
	if err != nil || res.IsError {
		t.Fatalf("local__slow: %v %+v", err, res)
	}
	seen.mu.Lock()
	first := seen.at[0]
	seen.mu.Unlock()
	if done.Sub(first) < 300*time.Millisecond {
		t.Fatalf("progress held back: the first %v before the result", done.Sub(first))
	}
	gt.Eventually(t, 5*time.Second, "access-log lines of /mcp", func() bool {
		for _, l := range accessLines(t, logPath) {
			if l["path"] == "/mcp" && l["status"] == 200.0 && l["op"] == "tool" && l["keyId"] == "config:app" {
				return true
			}
		}
		return false
	})
}

type upstreamToken struct{}

func (upstreamToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Upstream-Token", "s3cret-upstream")
	return http.DefaultTransport.RoundTrip(r)
}

// toolPipeline is a pipeline of two tool steps: find (search__web_search, private to the key
// "app") and echo (local__echo), each with arguments mapped from what came before.
const toolPipeline = `pipelines:
  - id: research
    name: Research
    nodes:
      - {id: in, type: input}
      - {id: find, type: tool, data: {tool: search__web_search, arguments: '{"q": input.topic}'}}
      - {id: echo, type: tool, data: {tool: local__echo, arguments: '{"text": steps.find.output}'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: find}
      - {source: find, target: echo}
      - {source: echo, target: out}
`

func TestPipelineToolSteps(t *testing.T) {
	bin := buildMCPServer(t)
	up := searchUpstream(t)
	g := gt.Start(t, "", mcpConfig(bin, up.URL)+toolPipeline)

	// The key may use both servers: the output is the last tool's text.
	r := g.Data("POST", "/v1/pipelines/research/run?trace=1", gt.Key, map[string]any{"topic": "otters"})
	body := r.JSON(t)
	if r.Status != 200 || body["output"] != "echo:web_search:otters" {
		t.Fatalf("run: %d %s", r.Status, r.Body)
	}
	x := body["execution"].(map[string]any)
	find := x["steps"].([]any)[1].(map[string]any)
	if find["id"] != "find" || find["tool"] != "search__web_search" || find["servedBy"] != "search" || find["invocation"] == nil ||
		find["output"] != "web_search:otters" {
		t.Fatalf("the find step: %v", find)
	}

	// The admin API's test run has no key: no key's policy applies.
	r = g.Admin("POST", "/api/pipelines/research/run", map[string]any{"topic": "eels"})
	if r.Status != 200 || r.JSON(t)["output"] != "echo:web_search:eels" {
		t.Fatalf("admin run: %d %s", r.Status, r.Body)
	}

	// The other org's key may not use the private server: the pipeline is not there for it, and
	// none of its steps runs.
	r = g.Data("POST", "/v1/pipelines/research/run?trace=1", gt.OtherKey, map[string]any{"topic": "x"})
	if r.Status != 404 || !strings.Contains(string(r.Body), `does not exist or you do not have access`) {
		t.Fatalf("another org's run: %d %s", r.Status, r.Body)
	}

	// Each call is a record of op tool naming the step, and the analytics count it by tool.
	g.Flush()
	list := g.Admin("GET", "/api/executions?model=search__web_search", nil).JSON(t)["data"].([]any)
	if len(list) != 2 {
		t.Fatalf("records %v", list)
	}
	rec := list[0].(map[string]any)
	if rec["op"] != "tool" || rec["pipeline"] != "research" || rec["step"] != "find" || rec["servedBy"] != "search" ||
		rec["requestBytes"] != float64(len(`{"q":"eels"}`)) || rec["responseBytes"] == nil {
		t.Fatalf("record %v", rec)
	}
	rep := g.Admin("GET", "/api/analytics?range=1h&group=model", nil).JSON(t)
	got := map[string]float64{}
	for _, tot := range rep["totals"].([]any) {
		m := tot.(map[string]any)
		got[m["key"].(string)] = m["requests"].(float64)
	}
	if got["search__web_search"] != 2 || got["local__echo"] != 2 || got["search"] != 0 {
		t.Fatalf("analytics by model: %v", got)
	}

	// /metrics has a series per tool, bounded by the tools the servers list.
	metrics := string(g.Admin("GET", "/metrics", nil).Body)
	for _, want := range []string{`iom_tool_calls_total{tool="search__web_search",server="search"} 2`,
		`iom_tool_calls_total{tool="local__echo",server="local"} 2`, `iom_tool_call_errors_total{tool="local__echo",server="local"} 0`,
		`iom_tool_call_duration_seconds_count{tool="search__web_search",server="search"} 2`, "# HELP iom_tool_calls_total MCP tool calls"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A tool step naming a server that does not exist is a problem of the pipeline.
	bad := map[string]any{"id": "bad", "name": "Bad", "nodes": []any{
		map[string]any{"id": "in", "type": "input"},
		map[string]any{"id": "t", "type": "tool", "data": map[string]any{"tool": "wiki__lookup"}},
		map[string]any{"id": "out", "type": "output"}},
		"edges": []any{map[string]any{"source": "in", "target": "t"}, map[string]any{"source": "t", "target": "out"}}}
	r = g.Admin("POST", "/api/pipelines", bad)
	if r.Status != 400 || !strings.Contains(string(r.Body), `unknown MCP server \"wiki\"`) {
		t.Fatalf("a tool of no server: %d %s", r.Status, r.Body)
	}

	// A server that goes away takes its tools' series with it.
	file := gt.Header(filepath.Join(g.Dir, "data")) + "mcpServers:\n  - id: local\n    command: [\"" + bin + "\"]\n"
	if err := os.WriteFile(g.Config, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	metrics = string(g.Admin("GET", "/metrics", nil).Body)
	if strings.Contains(metrics, "search__web_search") || !strings.Contains(metrics, `iom_tool_calls_total{tool="local__echo",server="local"} 2`) {
		t.Fatalf("/metrics after the search server went away:\n%s", metrics)
	}
}

// A key sees a pipeline only if it may call the tools of its tool steps, as for its models:
// a server's policy or its tool filter hides the pipeline from /v1/models.
func TestPipelinesFollowToolPermissions(t *testing.T) {
	bin := buildMCPServer(t)
	up := searchUpstream(t)
	g := gt.Start(t, "", mcpConfig(bin, up.URL)+toolPipeline+`  - id: local-only
    name: Local only
    nodes:
      - {id: in, type: input}
      - {id: echo, type: tool, data: {tool: local__echo, arguments: '{"text": input.topic}'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: echo}
      - {source: echo, target: out}
  - id: wipe
    name: Wipe
    nodes:
      - {id: in, type: input}
      - {id: del, type: tool, data: {tool: search__web_delete, arguments: '{"q": input.topic}'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: del}
      - {source: del, target: out}
`)
	pipelines := func(key string) []string {
		t.Helper()
		var out []string
		for _, m := range g.Data("GET", "/v1/models", key, nil).JSON(t)["data"].([]any) {
			if id := m.(map[string]any)["id"].(string); strings.HasPrefix(id, "pipeline:") {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	// The key may use both servers, but the filter hides web_delete: wipe is not listed.
	if got := pipelines(gt.Key); !slices.Equal(got, []string{"pipeline:local-only", "pipeline:research"}) {
		t.Fatalf("the key's pipelines: %v", got)
	}
	// The other org's key may not use the private server: research is not listed either.
	if got := pipelines(gt.OtherKey); !slices.Equal(got, []string{"pipeline:local-only"}) {
		t.Fatalf("the other key's pipelines: %v", got)
	}
	// Nor may it run them: refused before any step runs.
	r := g.Data("POST", "/v1/pipelines/wipe/run", gt.Key, map[string]any{"topic": "x"})
	if r.Status != 404 || !strings.Contains(string(r.Body), "does not exist or you do not have access") {
		t.Fatalf("running a hidden pipeline: %d %s", r.Status, r.Body)
	}
	g.Flush()
	if x := g.Admin("GET", "/api/executions/"+r.Header.Get("X-Iom-Execution-Id"), nil); x.Status != 404 {
		t.Fatalf("the refused run was recorded: %d %s", x.Status, x.Body)
	}
}

func TestToolsInTheRegistryListing(t *testing.T) {
	bin := buildMCPServer(t)
	up := searchUpstream(t)
	g := gt.Start(t, "", mcpConfig(bin, up.URL))
	ids := func(query string) []string {
		t.Helper()
		var out []string
		for _, v := range g.Admin("GET", "/api/models?"+query, nil).JSON(t)["data"].([]any) {
			out = append(out, v.(map[string]any)["id"].(string))
		}
		return out
	}
	want := []string{"local__crash", "local__echo", "local__pid", "local__slow", "search__web_search"}
	gt.Eventually(t, 20*time.Second, "the tools listed", func() bool { return slices.Equal(ids("type=tool&sort=id"), want) })

	all := g.Admin("GET", "/api/models?q=web_search", nil).JSON(t)["data"].([]any)
	if len(all) != 1 {
		t.Fatalf("q=web_search: %v", all)
	}
	tool := all[0].(map[string]any)
	schema, _ := tool["inputSchema"].(map[string]any)
	if tool["modelType"] != "tool" || tool["managedBy"] != "mcp" || tool["description"] != "The web_search tool" ||
		tool["name"] != "web_search" || schema["type"] != "object" || tool["status"] != "available" || tool["endpoint"] != nil {
		t.Fatalf("the tool's entry: %v", tool)
	}
	if got := ids("type=llm&q=web_search"); len(got) != 0 {
		t.Fatalf("type=llm lists tools: %v", got)
	}
	// GET /api/models/{id} answers a tool with the listing's entry; a tool the filter hides,
	// or no server has, is not found.
	one := g.Admin("GET", "/api/models/search__web_search", nil)
	if one.Status != 200 || fmt.Sprint(one.JSON(t)) != fmt.Sprint(tool) {
		t.Fatalf("get the tool: %d %s, the listing has %v", one.Status, one.Body, tool)
	}
	for _, id := range []string{"search__web_delete", "search__nothing", "nowhere__echo"} {
		if r := g.Admin("GET", "/api/models/"+id, nil); r.Status != 404 {
			t.Fatalf("get %s: %d %s", id, r.Status, r.Body)
		}
	}

	// A tool is no chat model: the refusal says what it is.
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"search__web_search","messages":[{"role":"user","content":"hi"}]}`)
	if r.Status != 404 || !strings.Contains(string(r.Body), "is an MCP tool, not a model") {
		t.Fatalf("chat with a tool: %d %s", r.Status, r.Body)
	}
	// A key that may not use the tool learns nothing of it.
	r = g.Data("POST", "/v1/chat/completions", gt.OtherKey, `{"model":"search__web_search","messages":[{"role":"user","content":"hi"}]}`)
	if r.Status != 404 || strings.Contains(string(r.Body), "MCP") {
		t.Fatalf("chat with a tool by another org: %d %s", r.Status, r.Body)
	}
}

// BenchmarkMCPToolCall calls one MCP tool directly on its server and through the gateway's /mcp,
// in turns, each from its own client session (one kept-alive connection), and reports the p50
// of each: what the gateway adds to a tool call. make bench shows it as its tool call row.
func BenchmarkMCPToolCall(b *testing.B) {
	up := searchUpstream(b)
	g := gt.Start(b, "", `log: {level: error}
mcpServers:
  - id: search
    url: `+up.URL+`/mcp
    headers: {X-Upstream-Token: s3cret-upstream}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	direct, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx,
		&sdk.StreamableClientTransport{Endpoint: up.URL + "/mcp", HTTPClient: &http.Client{Transport: upstreamToken{}}, MaxRetries: -1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	through := mcpClient(b, g, gt.Key, nil)
	awaitTools(b, through, "search__echo", "search__web_delete", "search__web_search")
	args := map[string]any{"q": "bench"}
	timed := func(sess *sdk.ClientSession, name string, into *[]time.Duration) {
		start := time.Now()
		res, err := sess.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
		*into = append(*into, time.Since(start))
		if err != nil || res.IsError {
			b.Fatalf("%s: %v %+v", name, err, res)
		}
	}
	var ds, gs []time.Duration
	for b.Loop() {
		timed(direct, "web_search", &ds)
		timed(through, "search__web_search", &gs)
	}
	p50 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds()) / 1000
	}
	b.ReportMetric(p50(ds), "direct-p50-µs")
	b.ReportMetric(p50(gs), "gateway-p50-µs")
}

// A config file's tool step may name only the file's MCP servers: iom validate says which.
func TestConfigToolStepNamesAServer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "iom.yaml")
	body := gt.Header(filepath.Join(dir, "data")) + strings.ReplaceAll(toolPipeline, "search__web_search", "wiki__lookup") + `mcpServers:
  - id: local
    command: ["mcpserver"]
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path, app.LoadOptions())
	if err == nil || !strings.Contains(err.Error(), `pipelines[0]`) || !strings.Contains(err.Error(), `nodes.find.data.tool: unknown MCP server "wiki"`) ||
		strings.Contains(err.Error(), "local__echo") {
		t.Fatalf("load: %v", err)
	}
}

// traced sends every request with the key and a client's traceparent.
type traced struct{ key, traceparent string }

func (k traced) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+k.key)
	r.Header.Set("traceparent", k.traceparent)
	return http.DefaultTransport.RoundTrip(r)
}

// A tool call continues the client's trace: its record carries the trace id, as a model call's
// does, with export off.
func TestMCPToolCallsCarryTheTrace(t *testing.T) {
	search := searchUpstream(t)
	g := gt.Start(t, "", `mcpServers:
  - id: search
    url: `+search.URL+`/mcp
    securityPolicy: public
    headers: {X-Upstream-Token: s3cret-upstream}
`)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil).Connect(ctx,
		&sdk.StreamableClientTransport{Endpoint: g.DataURL + "/mcp", MaxRetries: -1,
			HTTPClient: &http.Client{Transport: traced{gt.Key, "00-" + traceID + "-00f067aa0ba902b7-01"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	awaitTools(t, sess, "search__echo", "search__web_delete", "search__web_search")
	if out, err := call(sess, "search__echo", map[string]any{"q": "hi"}); err != nil || out != "echo:hi" {
		t.Fatalf("call: %q %v", out, err)
	}
	g.Flush()
	for _, r := range g.Admin("GET", "/api/executions?model=search__echo", nil).JSON(t)["data"].([]any) {
		if got := r.(map[string]any)["traceId"]; got != traceID {
			t.Fatalf("the tool call's record has trace id %v, want the client's %s", got, traceID)
		}
		return
	}
	t.Fatal("no record of the tool call")
}
