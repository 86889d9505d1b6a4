package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
)

// tokenEndpoint is an OAuth token endpoint on 127.0.0.1 for the client credentials grant of
// client "gateway" with secret "client-s3cret", as x/oauth2 sends them (basic auth, or the
// form). Its tokens live ttl; revoke makes the ones issued so far invalid.
type tokenEndpoint struct {
	*httptest.Server
	ttl time.Duration

	mu       sync.Mutex
	issued   int
	valid    map[string]time.Time // token → expiry
	audience string
	scope    string
}

func newTokenEndpoint(t *testing.T, ttl time.Duration) *tokenEndpoint {
	t.Helper()
	te := &tokenEndpoint{ttl: ttl, valid: map[string]time.Time{}}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		id, sec, ok := r.BasicAuth()
		if !ok {
			id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		w.Header().Set("Content-Type", "application/json")
		if id != "gateway" || sec != "client-s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"bad secret for ` + id + `"}`))
			return
		}
		te.mu.Lock()
		te.issued++
		tok := fmt.Sprintf("tok-%d", te.issued)
		te.valid[tok] = time.Now().Add(te.ttl)
		te.audience, te.scope = r.PostForm.Get("audience"), r.PostForm.Get("scope")
		te.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(te.ttl.Seconds())})
	}))
	t.Cleanup(te.Close)
	return te
}

func (te *tokenEndpoint) ok(header string) bool {
	te.mu.Lock()
	defer te.mu.Unlock()
	exp, ok := te.valid[strings.TrimPrefix(header, "Bearer ")]
	return ok && time.Now().Before(exp)
}

func (te *tokenEndpoint) count() int {
	te.mu.Lock()
	defer te.mu.Unlock()
	return te.issued
}

func (te *tokenEndpoint) revoke() {
	te.mu.Lock()
	clear(te.valid)
	te.mu.Unlock()
}

// bearerUpstream is a streamable HTTP MCP server that wants a bearer token te issued and has
// not expired; it tells which token each call came with.
func bearerUpstream(t *testing.T, te *tokenEndpoint) *httptest.Server {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "protected", Version: "1"}, nil)
	sdk.AddTool(srv, &sdk.Tool{Name: "whoami"}, func(_ context.Context, req *sdk.CallToolRequest, _ struct{}) (*sdk.CallToolResult, any, error) {
		return text(req.Extra.Header.Get("Authorization")), nil, nil
	})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !te.ok(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func oauthSpec(upstreamURL, tokenURL, clientSecret string) spec.MCPServer {
	s := spec.MCPServer{ID: "protected", URL: upstreamURL, OAuth: &spec.MCPOAuth{TokenURL: tokenURL, ClientID: "gateway",
		ClientSecret: secret.New(clientSecret), Scopes: []string{"tools.read", "tools.call"}, Audience: "https://mcp.example"}}
	s.Normalize()
	return s
}

func whoami(t *testing.T, svc *Service) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _, fe := svc.CallTool(ctx, nil, "protected__whoami", nil, Origin{})
	if fe != nil {
		return "", fe
	}
	return out.(string), nil
}

// The gateway gets a token with the client's credentials, sends it, reuses it until it
// expires, gets a new one then, and gets one at once when the server refuses the one it has.
func TestOAuthClientCredentials(t *testing.T) {
	te := newTokenEndpoint(t, 12*time.Second) // x/oauth2 takes a token as expired 10 s early
	up := bearerUpstream(t, te)
	svc := newService(t, Options{})
	svc.SetConfig([]spec.MCPServer{oauthSpec(up.URL, te.URL+"/oauth/token", "client-s3cret")})

	got, err := whoami(t, svc)
	if err != nil || got != "Bearer tok-1" {
		t.Fatalf("first call: %q %v", got, err)
	}
	te.mu.Lock()
	aud, scope := te.audience, te.scope
	te.mu.Unlock()
	if aud != "https://mcp.example" || scope != "tools.read tools.call" {
		t.Fatalf("the token request's audience %q and scope %q", aud, scope)
	}
	for range 3 {
		if got, err := whoami(t, svc); err != nil || got != "Bearer tok-1" {
			t.Fatalf("a call with the cached token: %q %v", got, err)
		}
	}
	if te.count() != 1 {
		t.Fatalf("%d tokens for calls within the token's life", te.count())
	}
	// Once the token is (nearly) expired, the next call gets a new one.
	time.Sleep(2100 * time.Millisecond)
	if got, err := whoami(t, svc); err != nil || got != "Bearer tok-2" {
		t.Fatalf("a call after expiry: %q %v", got, err)
	}
	// A token the server no longer takes is dropped, and the call made again with a new one.
	te.revoke()
	if got, err := whoami(t, svc); err != nil || got != "Bearer tok-3" {
		t.Fatalf("a call after the server refused the token: %q %v", got, err)
	}
	if v, _ := svc.View("protected"); v.State != "connected" || v.Problem != "" || !v.HasClientSecret {
		t.Fatalf("view %+v", v)
	}
}

// A refused client secret is a clear error on calls and in the server's status, which name
// neither the token endpoint nor the secret.
func TestOAuthWrongSecret(t *testing.T) {
	te := newTokenEndpoint(t, time.Minute)
	up := bearerUpstream(t, te)
	svc := newService(t, Options{})
	tokenURL := te.URL + "/oauth/token"
	svc.SetConfig([]spec.MCPServer{oauthSpec(up.URL, tokenURL, "wrong-s3cret")})

	var v ServerView
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if v, _ = svc.View("protected"); v.State == "unavailable" && v.Problem != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("view %+v", v)
		}
	}
	if !strings.Contains(v.Problem, "the token endpoint answered 401 (invalid_client): check clientId and clientSecret") {
		t.Fatalf("problem %q", v.Problem)
	}
	b, _ := json.Marshal(svc.Views())
	start := time.Now()
	_, err := whoami(t, svc)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a call to a server whose token is refused waited %v", d)
	}
	if err == nil || !strings.Contains(err.Error(), `MCP server "protected": cannot get an OAuth token: the token endpoint answered 401`) {
		t.Fatalf("a call: %v", err)
	}
	host := strings.TrimPrefix(te.URL, "http://")
	for _, s := range []string{v.Problem, err.Error()} {
		if strings.Contains(s, "wrong-s3cret") || strings.Contains(s, host) || strings.Contains(s, "bad secret") {
			t.Fatalf("leaks the secret, the token endpoint or its words: %s", s)
		}
	}
	// The admin's view shows the token URL (as it shows the server's), never the secret.
	if strings.Contains(string(b), "wrong-s3cret") {
		t.Fatalf("views show the secret: %s", b)
	}
	if !strings.Contains(string(b), `"hasClientSecret":true`) || !strings.Contains(string(b), `"clientId":"gateway"`) {
		t.Fatalf("views %s", b)
	}
}

func TestOAuthValidation(t *testing.T) {
	f := func(o *spec.MCPOAuth, headers map[string]secret.Secret, want string) {
		t.Helper()
		s := spec.MCPServer{ID: "x", URL: "https://mcp.example/mcp", OAuth: o, Headers: headers}
		s.Normalize()
		var es decode.Errors
		s.Validate("mcpServers[0]", &es)
		if got := es.Error(); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	ok := func() *spec.MCPOAuth {
		return &spec.MCPOAuth{TokenURL: "https://auth.example/token", ClientID: "id", ClientSecret: secret.New("s")}
	}
	f(&spec.MCPOAuth{}, nil, "mcpServers[0].oauth.tokenUrl: is required")
	f(&spec.MCPOAuth{TokenURL: "ftp://x"}, nil, "mcpServers[0].oauth.tokenUrl: must be an http:// or https:// URL")
	f(&spec.MCPOAuth{TokenURL: "https://u:p@x/token"}, nil, "mcpServers[0].oauth.tokenUrl: must not carry credentials")
	f(&spec.MCPOAuth{TokenURL: "https://x/token"}, nil, "mcpServers[0].oauth.clientId: is required")
	f(&spec.MCPOAuth{TokenURL: "https://x/token", ClientID: "id"}, nil, "mcpServers[0].oauth.clientSecret: is required")
	bad := ok()
	bad.Scopes = []string{"a", "b c"}
	f(bad, nil, `mcpServers[0].oauth.scopes[1]: "b c" must be one scope`)
	f(ok(), map[string]secret.Secret{"Authorization": secret.New("Bearer x")}, "mcpServers[0].headers.Authorization: is set by oauth")
	f(ok(), map[string]secret.Secret{"authorization": secret.New("Bearer x")}, "mcpServers[0].headers.authorization: is set by oauth")
	f(ok(), nil, "")
	s := spec.MCPServer{ID: "x", Command: []string{"srv"}, OAuth: ok()}
	s.Normalize()
	var es decode.Errors
	s.Validate("m", &es)
	if !strings.Contains(es.Error(), "m.oauth: is only for a server with a url") {
		t.Errorf("a stdio server with oauth: %q", es.Error())
	}
}

// The token endpoint is reached under the egress policy, as the server is: a refused one is
// never asked, and the server's status says the token cannot be got.
func TestOAuthTokenURLUnderEgress(t *testing.T) {
	te := newTokenEndpoint(t, time.Minute)
	up := bearerUpstream(t, te)
	p, err := egress.New(nil, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, Options{Egress: func() *egress.Policy { return p }})
	svc.SetConfig([]spec.MCPServer{oauthSpec(up.URL, strings.Replace(te.URL, "127.0.0.1", "localhost", 1)+"/token", "client-s3cret")})
	var v ServerView
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if v, _ = svc.View("protected"); v.Problem != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("view %+v", v)
		}
	}
	if v.Problem != "cannot get an OAuth token: the token endpoint cannot be reached or gave no token" || te.count() != 0 {
		t.Fatalf("problem %q, %d tokens issued", v.Problem, te.count())
	}
	// The admin API refuses a token URL the policy refuses by its literal address.
	decl := oauthSpec(up.URL, "http://169.254.169.254/token", "x")
	decl.ID = "metadata"
	if fe := svc.check(&decl); fe == nil || !strings.Contains(fe.Message, "oauth.tokenUrl: the egress policy refuses 169.254.169.254:80") {
		t.Fatalf("a refused token URL: %v", fe)
	}
}
