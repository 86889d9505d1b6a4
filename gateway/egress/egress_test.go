package egress

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		r, err := ParseRule(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		got := r.name
		if r.prefix.IsValid() {
			got = r.prefix.String()
		}
		if r.port != 0 {
			got += " port " + itoa(r.port)
		}
		if got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
	f("10.0.0.5", "10.0.0.5/32")
	f("10.1.2.3/8", "10.0.0.0/8")
	f("10.0.0.0/8:443", "10.0.0.0/8 port 443")
	f("169.254.169.254:80", "169.254.169.254/32 port 80")
	f("::1", "::1/128")
	f("fe80::/10", "fe80::/10")
	f("[::1]:11434", "::1/128 port 11434")
	f("[fd00::/8]:443", "fd00::/8 port 443")
	f("ollama.lan", "ollama.lan")
	f("Ollama.LAN.:11434", "ollama.lan port 11434")
	f("*.corp.example.com", ".corp.example.com")
	f("*.corp.example.com:8443", ".corp.example.com port 8443")
}

func itoa(n uint16) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestParseRuleErrors(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		_, err := ParseRule(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error with %q", in, err, want)
		}
	}
	f("", "is not an address")
	f("10.0.0.0/33", "is not an address")
	f("10.0.0.0/8:0", "a port is 1 to 65535")
	f("host:70000", "a port is 1 to 65535")
	f("host:", "is not an address")
	f("[::1", "is not an address")
	f("[10.0.0.1]:80", "is not an address")
	f("[::1]80", "is not an address")
	f("fe80::1%eth0", "zone")
	f("http://example.com", "is a URL")
	f("a..b", "is not an address")
	f("999.1.1.1", "is not an address")
	f("-bad.example", "is not an address")
	f("*", "is not an address")
}

func TestCheck(t *testing.T) {
	listeners := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8081"), netip.MustParseAddrPort("[::]:8080")}
	localAddrs := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("fe80::1")}
	policy := func(allow, deny []string) *Policy {
		t.Helper()
		p, err := New(allow, deny)
		if err != nil {
			t.Fatal(err)
		}
		return p.WithListeners(listeners, localAddrs)
	}
	f := func(p *Policy, host, addr string, want string) {
		t.Helper()
		ap := netip.MustParseAddrPort(addr)
		err := p.Check(host, ap.Addr(), ap.Port())
		switch {
		case want == "" && err != nil:
			t.Errorf("%s %s: refused: %v", host, addr, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s %s: got %v, want a refusal saying %q", host, addr, err, want)
		}
	}
	def := policy(nil, nil)
	// Local model servers stay reachable.
	f(def, "localhost", "127.0.0.1:11434", "")
	f(def, "10.0.0.7", "10.0.0.7:8000", "")
	f(def, "192.168.1.2", "192.168.1.2:80", "")
	f(def, "api.openai.com", "162.159.140.245:443", "")
	// The gateway's own listeners, on every address that reaches them.
	f(def, "127.0.0.1", "127.0.0.1:8081", "listener of this gateway")
	f(def, "localhost", "127.0.0.2:8081", "listener of this gateway")
	f(def, "localhost", "[::1]:8081", "listener of this gateway")
	f(def, "0.0.0.0", "0.0.0.0:8081", "listener of this gateway")
	f(def, "10.1.2.3", "10.1.2.3:8080", "listener of this gateway")
	f(def, "127.0.0.1", "127.0.0.1:8080", "listener of this gateway")
	f(def, "::ffff:127.0.0.1", "[::ffff:127.0.0.1]:8080", "listener of this gateway")
	f(def, "10.1.2.3", "10.1.2.3:8081", "") // the admin listener is on loopback only
	// Link-local and metadata addresses.
	f(def, "169.254.169.254", "169.254.169.254:80", "link-local")
	f(def, "metadata.google.internal", "169.254.169.254:80", "link-local")
	f(def, "fe80::1", "[fe80::1]:80", "link-local")
	f(def, "fd00:ec2::254", "[fd00:ec2::254]:80", "metadata")
	f(def, "100.100.100.200", "100.100.100.200:80", "metadata")

	// Allow reopens link-local; a listener only by its port.
	open := policy([]string{"169.254.169.254", "127.0.0.0/8", "127.0.0.1:8080"}, nil)
	f(open, "169.254.169.254", "169.254.169.254:80", "")
	f(open, "169.254.170.2", "169.254.170.2:80", "link-local")
	f(open, "127.0.0.1", "127.0.0.1:8080", "")
	f(open, "127.0.0.1", "127.0.0.1:8081", "listener of this gateway")
	named := policy([]string{"metadata.internal", "*.lan:8081"}, nil)
	f(named, "metadata.internal", "169.254.169.254:80", "")
	f(named, "gw.lan", "127.0.0.1:8081", "")

	// Deny wins, by address or by name.
	closed := policy([]string{"10.0.0.0/8"}, []string{"10.9.0.0/16", "*.internal", "db.lan:5432"})
	f(closed, "10.9.1.1", "10.9.1.1:80", "egress.deny[0]")
	f(closed, "10.8.1.1", "10.8.1.1:80", "")
	f(closed, "api.internal", "203.0.113.1:443", "egress.deny[1]")
	f(closed, "db.lan", "192.168.1.5:5432", "egress.deny[2]")
	f(closed, "db.lan", "192.168.1.5:80", "")
	if err := closed.CheckName("x.internal", 443); err == nil {
		t.Error("a denied name passed before resolution")
	}
	if err := closed.CheckName("api.openai.com", 443); err != nil {
		t.Errorf("a name not denied: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	p, _ := New(nil, []string{"evil.example"})
	p = p.WithListeners(ListenerAddrs(":8080", "127.0.0.1:8081"), nil)
	f := func(endpoint, want string) {
		t.Helper()
		err := p.CheckURL(endpoint)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", endpoint, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want %q", endpoint, err, want)
		}
	}
	f("http://127.0.0.1:8081/metrics", "listener of this gateway")
	f("http://[::1]:8080/v1", "listener of this gateway")
	f("http://169.254.169.254/latest/meta-data", "link-local")
	f("https://evil.example/v1", "egress.deny[0]")
	f("http://localhost:11434", "")
	f("http://localhost:8081", "") // a name: checked when dialed
	f("https://api.openai.com/v1", "")
}
