package mcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/spec"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenTimeout bounds one request to a token endpoint.
const tokenTimeout = 15 * time.Second

// tokenSource gets and caches the bearer token of a server with oauth: one token at a time,
// reused until it expires (less a margin), fetched again when it did or when the server refused
// it. Fetches are serialized, so callers waiting on an expired token share one request.
type tokenSource struct {
	cfg    clientcredentials.Config
	client *http.Client // reaches the token endpoint under the egress policy

	fetch sync.Mutex // held while a token is fetched
	mu    sync.Mutex // guards token and failed, never held over the network
	token *oauth2.Token
	// failed is the last fetch's error, until a fetch succeeds: the server's status shows it.
	failed error
}

func newTokenSource(o *spec.MCPOAuth, client *http.Client) *tokenSource {
	cfg := clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret.Reveal(), TokenURL: o.TokenURL,
		Scopes: o.Scopes}
	if o.Audience != "" {
		cfg.EndpointParams = url.Values{"audience": {o.Audience}}
	}
	return &tokenSource{cfg: cfg, client: client}
}

// get returns a valid token, fetching one if the cached one expired or was dropped.
func (t *tokenSource) get(ctx context.Context) (string, error) {
	if tok := t.cached(); tok != "" {
		return tok, nil
	}
	t.fetch.Lock()
	defer t.fetch.Unlock()
	if tok := t.cached(); tok != "" { // another caller fetched it meanwhile
		return tok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	tok, err := t.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, t.client))
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.failed = &tokenError{err: err}
		return "", t.failed
	}
	t.token, t.failed = tok, nil
	return tok.AccessToken, nil
}

// cached is the cached token while it is valid, else "".
func (t *tokenSource) cached() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token.Valid() {
		return t.token.AccessToken
	}
	return ""
}

// lastError is the error of the last fetch if it failed, else nil.
func (t *tokenSource) lastError() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// drop forgets the cached token if it is still old (the server refused it), so the next get
// fetches a new one.
func (t *tokenSource) drop(old string) {
	t.mu.Lock()
	if t.token != nil && t.token.AccessToken == old {
		t.token = nil
	}
	t.mu.Unlock()
}

// tokenError is a failure to get a token. Its message says why in the gateway's words: the
// token endpoint's status and OAuth error code, never its URL, the client's secret or the
// endpoint's body.
type tokenError struct{ err error }

func (e *tokenError) Unwrap() error { return e.err }

func (e *tokenError) Error() string {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(e.err, &re) && re.Response != nil:
		msg := fmt.Sprintf("the token endpoint answered %d", re.Response.StatusCode)
		if re.ErrorCode != "" {
			msg += " (" + re.ErrorCode + ")"
		}
		if re.Response.StatusCode == http.StatusUnauthorized || re.ErrorCode == "invalid_client" {
			msg += ": check clientId and clientSecret"
		}
		return "cannot get an OAuth token: " + msg
	case errors.Is(e.err, context.DeadlineExceeded):
		return "cannot get an OAuth token: the token endpoint did not answer in time"
	}
	return "cannot get an OAuth token: the token endpoint cannot be reached or gave no token"
}

// oauthTransport sends each request with the server's bearer token. A 401 drops the token and
// sends the request once more with a new one, when its body can be sent again.
type oauthTransport struct {
	base   http.RoundTripper
	tokens *tokenSource
}

func (t oauthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.tokens.get(r.Context())
	if err != nil {
		return nil, err
	}
	res, err := t.base.RoundTrip(withBearer(r, tok))
	if err != nil || res.StatusCode != http.StatusUnauthorized || (r.Body != nil && r.GetBody == nil) {
		return res, err
	}
	t.tokens.drop(tok)
	retry := withBearer(r, "")
	if r.GetBody != nil {
		if retry.Body, err = r.GetBody(); err != nil {
			return res, nil
		}
	}
	_ = res.Body.Close()
	if tok, err = t.tokens.get(r.Context()); err != nil {
		return nil, err
	}
	retry.Header.Set("Authorization", "Bearer "+tok)
	return t.base.RoundTrip(retry)
}

func withBearer(r *http.Request, tok string) *http.Request {
	r = r.Clone(r.Context())
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}
