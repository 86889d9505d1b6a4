package provider

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/internal/fakeupstream"
)

func chatCall(t *testing.T) *Call {
	t.Helper()
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	fields, err := rawjson.ScanObject(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Call{Op: Chat, Body: body, Fields: fields}
}

// The dialer checks every address a name resolves to and dials one it checked: a name that
// resolves to a refused address as well as an allowed one reaches the allowed one only, and a
// name that resolves to refused addresses only is refused, with a fault that names no address.
func TestEgressChecksTheDialedAddress(t *testing.T) {
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	_, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(up.URL, "http://"), "/v1"))
	names := map[string][]netip.Addr{
		"rebind.test":   {netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("127.0.0.1")},
		"metadata.test": {netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fe80::1")},
		"local.test":    {netip.MustParseAddr("127.0.0.1")},
	}
	pool := NewPool()
	pool.Resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := names[host]; ok {
			return a, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	call := func(host string) error {
		t.Helper()
		m := &spec.Model{ID: "m", Provider: "openai", Endpoint: "http://" + host + ":" + port + "/v1", UpstreamModel: "m"}
		u, err := pool.Upstream(m, Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := u.Do(chatCall(t))
		if err == nil {
			res.Release()
		}
		return err
	}
	if err := call("rebind.test"); err != nil {
		t.Fatalf("a name with an allowed address: %v", err)
	}
	if up.Count() != 1 {
		t.Fatalf("the upstream got %d calls, want 1", up.Count())
	}
	err = call("metadata.test")
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Status != 403 || fe.Code != "egress_denied" || fe.Retryable() {
		t.Fatalf("a name with refused addresses only: %#v", err)
	}
	if strings.Contains(fe.Message, "169.254") || strings.Contains(fe.Message, "metadata.test") || !strings.Contains(fe.Message, "egress policy") {
		t.Errorf("the message must say why and name no address: %q", fe.Message)
	}
	if !strings.Contains(fe.Detail, "metadata.test") || !strings.Contains(fe.Detail, "link-local") {
		t.Errorf("the log detail should name the address: %q", fe.Detail)
	}

	deny, err := egress.New(nil, []string{"127.0.0.0/8:" + port})
	if err != nil {
		t.Fatal(err)
	}
	pool.SetEgress(deny)
	for _, host := range []string{"local.test", "127.0.0.1"} {
		if err := call(host); !errors.As(err, &fe) || fe.Code != "egress_denied" {
			t.Errorf("%s under a policy denying it: %v", host, err)
		}
	}
	if up.Count() != 1 {
		t.Errorf("the upstream got %d calls, want 1", up.Count())
	}
}

// Every upstream request carries the hop header: the gateway's first hop, or the one its
// context holds.
func TestHopHeaderSent(t *testing.T) {
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	pool := NewPool()
	u, err := pool.Upstream(&spec.Model{ID: "m", Provider: "openai", Endpoint: up.URL, UpstreamModel: "m"}, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	c := chatCall(t)
	res, err := u.Do(c)
	if err != nil {
		t.Fatal(err)
	}
	res.Release()
	if got, want := up.Last().Header["x-iom-hop"], pool.Instance()+";n=1"; got != want {
		t.Errorf("hop header %q, want %q", got, want)
	}
	c.Ctx = WithHop(context.Background(), "other;n=2, "+pool.Instance()+";n=2")
	res, err = u.Do(c)
	if err != nil {
		t.Fatal(err)
	}
	res.Release()
	if got := up.Last().Header["x-iom-hop"]; got != "other;n=2, "+pool.Instance()+";n=2" {
		t.Errorf("hop header %q", got)
	}
}

func TestNextHop(t *testing.T) {
	f := func(in, wantOut string, wantTimes int, wantOK bool) {
		t.Helper()
		out, times, ok := NextHop("me", []byte(in))
		if out != wantOut || times != wantTimes || ok != wantOK {
			t.Errorf("%q: got %q %d %v, want %q %d %v", in, out, times, ok, wantOut, wantTimes, wantOK)
		}
	}
	f("", "me;n=1", 0, true)
	f("me;n=1", "me;n=2", 1, true)
	f("other;n=4", "other;n=4, me;n=1", 0, true)
	f(" other;n=4 ,me;n=2", "other;n=4, me;n=3", 2, true)
	f("junk, me;n=x, ;n=1, a b;n=1, me;n=0, me;n=1000, me;n=3", "me;n=4", 3, true)
	f("a;n=1,b;n=1,c;n=1,d;n=1,e;n=1,f;n=1,g;n=1", "a;n=1, b;n=1, c;n=1, d;n=1, e;n=1, f;n=1, g;n=1, me;n=1", 0, true)
	f("a;n=1,b;n=1,c;n=1,d;n=1,e;n=1,f;n=1,g;n=1,h;n=1", "", 0, false)
}

func FuzzNextHop(f *testing.F) {
	f.Add("me;n=1, other;n=3")
	f.Add("junk,,;n=;n=1")
	f.Fuzz(func(t *testing.T, in string) {
		out, times, ok := NextHop("me", []byte(in))
		if !ok {
			return
		}
		// What it sends is valid and counts this gateway once more.
		again, next, ok := NextHop("me", []byte(out))
		if next != times+1 || !ok && times < 999 {
			t.Fatalf("%q → %q (%d) → %q (%d, %v)", in, out, times, again, next, ok)
		}
	})
}

func TestKeyGoesTo(t *testing.T) {
	f := func(provider, endpoint string, extra []string, want bool) {
		t.Helper()
		u, err := url.Parse(endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if got := keyGoesTo(provider, extra, u); got != want {
			t.Errorf("%s %s %v: got %v", provider, endpoint, extra, got)
		}
	}
	f("openai", "https://api.openai.com/v1", nil, true)
	f("openai", "https://API.openai.com:443/v1/chat/completions", nil, true)
	f("openai", "http://api.openai.com/v1", nil, false) // never in clear text by default
	f("openai", "https://api.openai.com:8443/v1", nil, false)
	f("openai", "https://api.openai.com.evil.example/v1", nil, false)
	f("openai", "https://api.anthropic.com/v1", nil, false)
	f("openai", "http://127.0.0.1:8000/v1", nil, false)
	f("openai", "https://api.groq.com/openai/v1", nil, false)
	f("anthropic", "https://api.anthropic.com", nil, true)
	f("huggingface", "https://x1.us-east-1.aws.endpoints.huggingface.cloud", nil, true)
	f("huggingface", "https://endpoints.huggingface.cloud", nil, false)
	f("http", "https://api.openai.com/v1", nil, false)
	f("openai", "http://127.0.0.1:8000/v1", []string{"127.0.0.1:8000"}, true)
	f("openai", "http://127.0.0.1:8001/v1", []string{"127.0.0.1:8000"}, false)
	f("openai", "https://api.groq.com/openai/v1", []string{"api.groq.com"}, true)
	f("openai", "http://api.groq.com/openai/v1", []string{"api.groq.com"}, false)
	f("openai", "https://a.corp.example:8443/v1", []string{"*.corp.example:8443"}, true)
	f("openai", "http://[::1]:8000/v1", []string{"[::1]:8000"}, true)
}

// A provider-wide key goes to its vendor's hosts and those listed; a model's own key anywhere.
func TestProviderKeyOnlyToItsHosts(t *testing.T) {
	pool := NewPool()
	key := secret.New("sk-provider")
	build := func(endpoint string, own string, hosts []string) *Upstream {
		t.Helper()
		u, err := pool.Upstream(&spec.Model{ID: "m", Provider: "openai", Endpoint: endpoint, APIKey: secret.New(own)},
			Defaults{APIKey: key, KeyHosts: hosts})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := build("https://api.openai.com/v1", "", nil); u.Key.Reveal() != "sk-provider" || u.KeyWithheld {
		t.Error("the vendor's host must get the provider-wide key")
	}
	if u := build("http://127.0.0.1:9/v1", "", nil); u.Key.IsSet() || !u.KeyWithheld {
		t.Error("another host must not get the provider-wide key")
	}
	if u := build("http://127.0.0.1:9/v1", "", []string{"127.0.0.1:9"}); u.Key.Reveal() != "sk-provider" {
		t.Error("a listed host must get the provider-wide key")
	}
	if u := build("http://127.0.0.1:9/v1", "sk-own", nil); u.Key.Reveal() != "sk-own" || u.KeyWithheld {
		t.Error("a model's own key goes to its endpoint")
	}
}
