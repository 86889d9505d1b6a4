package mcp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/spec"
)

// docsUpstream is a streamable HTTP MCP server on 127.0.0.1 with two resources and a resource
// template; the returned server can be given more resources while sessions are open.
func docsUpstream(t *testing.T) (*httptest.Server, *sdk.Server) {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "docs", Version: "1"}, nil)
	text := func(body string) sdk.ResourceHandler {
		return func(_ context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
			return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: req.Params.URI, MIMEType: "text/plain", Text: body}}}, nil
		}
	}
	srv.AddResource(&sdk.Resource{Name: "readme", URI: "file:///docs/readme.md", MIMEType: "text/markdown", Description: "The readme"},
		text("# Readme"))
	srv.AddResource(&sdk.Resource{Name: "gone", URI: "docs://gone"},
		func(_ context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
			return nil, sdk.ResourceNotFoundError(req.Params.URI)
		})
	srv.AddResourceTemplate(&sdk.ResourceTemplate{Name: "note", URITemplate: "notes://{id}", Description: "A note by id"},
		func(_ context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
			id := strings.TrimPrefix(req.Params.URI, "notes://")
			return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: req.Params.URI, Text: "note " + id}}}, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "find", Description: "points at the readme"},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.ResourceLink{Name: "readme", URI: "file:///docs/readme.md"}}}, nil, nil
		})
	ts := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	return ts, srv
}

func resourceURIs(t *testing.T, sess *sdk.ClientSession) []string {
	t.Helper()
	var uris []string
	res, err := sess.ListResources(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Resources {
		uris = append(uris, r.Name+" "+r.URI)
	}
	tmpl, err := sess.ListResourceTemplates(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tmpl.ResourceTemplates {
		uris = append(uris, r.Name+" "+r.URITemplate)
	}
	slices.Sort(uris)
	return uris
}

func waitResources(t *testing.T, sess *sdk.ClientSession, want ...string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = resourceURIs(t, sess); slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("resources %q, want %q", got, want)
}

func readText(sess *sdk.ClientSession, uri string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := sess.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
	if err != nil {
		return "", "", err
	}
	if len(res.Contents) != 1 {
		return "", "", nil
	}
	return res.Contents[0].Text, res.Contents[0].URI, nil
}

// The resources and templates of the servers a key may use are listed under iom://<server>/,
// each read routed to its server with its own URI, recorded and limited as tool calls are.
func TestResources(t *testing.T) {
	docs, upstreamSrv := docsUpstream(t)
	rec := &recorder{}
	var mu sync.Mutex
	limited := false
	svc := newService(t, Options{Record: rec.record, Admit: func(*policy.Key) *fault.Error {
		mu.Lock()
		defer mu.Unlock()
		if limited {
			return fault.Limited(1, "rate limit of key %q reached", "acme-app")
		}
		return nil
	}})
	specs := testSpecs(t, "http://127.0.0.1:1/mcp")[1:] // the stdio server, which has no resources
	docsSpec := spec.MCPServer{ID: "docs", URL: docs.URL, SecurityPolicy: spec.Private, AllowedKeys: []string{acmeKey.ID}}
	docsSpec.Normalize()
	svc.SetConfig(append(specs, docsSpec))
	url := front(t, svc)

	acme, err := connect(t, url, "acme-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitResources(t, acme, "docs__gone iom://docs/docs://gone", "docs__note iom://docs/notes://{id}",
		"docs__readme iom://docs/file:///docs/readme.md")
	got, uri, err := readText(acme, "iom://docs/file:///docs/readme.md")
	if err != nil || got != "# Readme" || uri != "iom://docs/file:///docs/readme.md" {
		t.Fatalf("readme: %q %q %v", got, uri, err)
	}
	got, uri, err = readText(acme, "iom://docs/notes://42")
	if err != nil || got != "note 42" || uri != "iom://docs/notes://42" {
		t.Fatalf("a note by the template: %q %q %v", got, uri, err)
	}
	// A tool's resource link points where the client reads it.
	waitTools(t, acme, []string{"docs__find", "local__crash", "local__echo", "local__env", "local__pid"})
	res, err := acme.CallTool(context.Background(), &sdk.CallToolParams{Name: "docs__find", Arguments: map[string]any{}})
	if err != nil || len(res.Content) != 1 {
		t.Fatalf("docs__find: %+v %v", res, err)
	}
	if link, ok := res.Content[0].(*sdk.ResourceLink); !ok || link.URI != "iom://docs/file:///docs/readme.md" {
		t.Fatalf("the tool's resource link: %+v", res.Content[0])
	}
	// The server's own not-found names the URI the client asked for, not the server's.
	if _, _, err := readText(acme, "iom://docs/docs://gone"); err == nil || !strings.Contains(err.Error(), "Resource not found") ||
		strings.Contains(err.Error(), `"docs://gone"`) {
		t.Fatalf("a resource the server does not find: %v", err)
	}
	// A URI no server lists, or one of no server, is not found.
	for _, u := range []string{"iom://docs/file:///etc/passwd", "file:///docs/readme.md", "iom://nowhere/notes://1"} {
		if _, _, err := readText(acme, u); err == nil || !strings.Contains(err.Error(), "Resource not found") {
			t.Errorf("%s: %v", u, err)
		}
	}

	// Another org's key does not see the private server's resources, and cannot read them.
	other, err := connect(t, url, "other-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitTools(t, other, []string{"local__crash", "local__echo", "local__env", "local__pid"})
	if got := resourceURIs(t, other); len(got) != 0 {
		t.Fatalf("another org's key sees %v", got)
	}
	if _, _, err := readText(other, "iom://docs/file:///docs/readme.md"); err == nil || !strings.Contains(err.Error(), "Resource not found") {
		t.Fatalf("another org's key read a private resource: %v", err)
	}

	// A resource the server adds reaches open sessions (resources/list_changed).
	upstreamSrv.AddResource(&sdk.Resource{Name: "changelog", URI: "file:///docs/changelog.md"},
		func(_ context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
			return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: req.Params.URI, Text: "v1"}}}, nil
		})
	waitResources(t, acme, "docs__changelog iom://docs/file:///docs/changelog.md", "docs__gone iom://docs/docs://gone",
		"docs__note iom://docs/notes://{id}", "docs__readme iom://docs/file:///docs/readme.md")

	// Reads are admitted under the key's limits.
	mu.Lock()
	limited = true
	mu.Unlock()
	if _, _, err := readText(acme, "iom://docs/file:///docs/readme.md"); err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("a limited key's read: %v", err)
	}

	var ok, refused int
	for _, inv := range rec.all() {
		if inv.Op != "resource" || inv.Provider != "mcp" || inv.ServedBy != "docs" || inv.KeyID != acmeKey.ID {
			continue
		}
		switch {
		case inv.Status == "ok" && inv.RequestBytes > 0 && inv.ResponseBytes > 0:
			ok++
		case inv.HTTPStatus == 429:
			refused++
		}
	}
	if ok != 2 || refused != 1 {
		t.Fatalf("records: %+v", rec.all())
	}
	v, _ := svc.View("docs")
	if len(v.Resources) != 4 || v.Resources[3].URI != "iom://docs/notes://{id}" || !v.Resources[3].Template || v.Resources[3].UpstreamURI != "notes://{id}" {
		t.Fatalf("the admin view's resources: %+v", v.Resources)
	}
}

func TestResourceURIRoundTrip(t *testing.T) {
	f := func(id, uri string) {
		t.Helper()
		gotID, gotURI, ok := SplitResourceURI(ResourceURI(id, uri))
		if !ok || gotID != id || gotURI != uri {
			t.Errorf("%q %q: got %q %q %v", id, uri, gotID, gotURI, ok)
		}
	}
	f("docs", "file:///a/b.md")
	f("a_b.c-d", "notes://{id}")
	f("x", "https://example.com/path?q=1#frag")
	for _, bad := range []string{"file:///x", "iom://", "iom://docs", "iom://docs/", "iom:///x"} {
		if _, _, ok := SplitResourceURI(bad); ok {
			t.Errorf("%q split", bad)
		}
	}
}
