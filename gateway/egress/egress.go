// Package egress owns the policy of which addresses upstream calls may connect to: it parses the
// config's allow and deny entries, knows what is refused by default (the gateway's own listeners,
// link-local and cloud metadata addresses) and decides for one connection. It does no I/O:
// callers resolve a name, ask about every address it resolved to and dial only an allowed one,
// so a name that resolves elsewhere at dial time (DNS rebinding) is checked where it lands.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// A Rule is one entry of egress.allow or egress.deny: an address, a CIDR or a host name
// ("*.example.com" for its subdomains), each with an optional port.
type Rule struct {
	prefix netip.Prefix // an address rule, when valid
	name   string       // a name rule: the name, or ".example.com" for *.example.com
	port   uint16       // 0: any port
}

var errRule = errors.New("is not an address, a CIDR or a host name (each with an optional :port)")

// ParseRule parses an entry: 10.0.0.5, 10.0.0.0/8, fe80::/10, [fd00::/8]:443, 10.0.0.0/8:443,
// [::1]:11434, ollama.lan, ollama.lan:11434, *.corp.example.com, *.corp.example.com:443.
func ParseRule(s string) (Rule, error) {
	var r Rule
	if strings.Contains(s, "://") {
		return r, errors.New("is a URL; give its host (with a port, if need be)")
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return r, errRule
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return r, errRule
			}
			port = port[1:]
			if port == "" {
				return r, errRule
			}
		}
		if !strings.Contains(host, ":") {
			return r, errRule // brackets are for IPv6
		}
	case strings.Count(s, ":") == 1:
		host, port, _ = strings.Cut(s, ":")
		if port == "" {
			return r, errRule
		}
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return r, fmt.Errorf("has port %q; a port is 1 to 65535", port)
		}
		r.port = uint16(n)
	}
	if strings.Contains(host, "%") {
		return r, errors.New("must not have an IPv6 zone")
	}
	if strings.Contains(host, "/") {
		p, err := netip.ParsePrefix(host)
		if err != nil {
			return r, errRule
		}
		r.prefix = p.Masked()
		return r, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		r.prefix = netip.PrefixFrom(ip, ip.BitLen())
		return r, nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	wild := strings.HasPrefix(name, "*.")
	if wild {
		name = name[1:] // ".example.com"
	}
	if !validName(strings.TrimPrefix(name, ".")) {
		return r, errRule
	}
	r.name = name
	return r, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// All digits and dots is an IPv4 address that did not parse, not a name.
	return strings.Trim(s, "0123456789.") != ""
}

// matches reports whether the rule covers a connection to ip:port made for host (the name the
// endpoint gave, or the address itself). An address rule looks at ip, a name rule at host.
func (r Rule) matches(host string, ip netip.Addr, port uint16) bool {
	if r.port != 0 && r.port != port {
		return false
	}
	if r.prefix.IsValid() {
		return ip.IsValid() && r.prefix.Contains(ip)
	}
	return nameMatches(r.name, host)
}

func nameMatches(rule, host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if strings.HasPrefix(rule, ".") {
		return strings.HasSuffix(host, rule) && len(host) > len(rule)
	}
	return host == rule
}

// metadata are cloud metadata services outside the link-local ranges (AWS's IPv6 one and
// Alibaba's). The rest (169.254.169.254) are link-local.
var metadata = []netip.Prefix{netip.MustParsePrefix("fd00:ec2::254/128"), netip.MustParsePrefix("100.100.100.200/32")}

// Always-local addresses: a connection to them with a listener's port reaches that listener
// (the unspecified address dials the local host).
var local = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("0.0.0.0/32"), netip.MustParsePrefix("::/128")}

// Policy decides which addresses upstream calls may connect to. It is immutable.
type Policy struct {
	allow, deny []Rule
	// self are the addresses, with their ports, that reach the gateway's own listeners.
	self []Rule
}

// New compiles a policy from the config's entries. The error names the first bad entry; config
// validation reports each with its path (ParseRule).
func New(allow, deny []string) (*Policy, error) {
	p := &Policy{}
	for _, list := range []struct {
		name    string
		entries []string
		dst     *[]Rule
	}{{"allow", allow, &p.allow}, {"deny", deny, &p.deny}} {
		for i, s := range list.entries {
			r, err := ParseRule(s)
			if err != nil {
				return nil, fmt.Errorf("egress.%s[%d]: %q %w", list.name, i, s, err)
			}
			*list.dst = append(*list.dst, r)
		}
	}
	return p, nil
}

// WithListeners returns the policy refusing the gateway's listeners too: each on its own
// address, on every always-local one, and, for a listener on all interfaces (0.0.0.0, ::), on
// every address in localAddrs (the host's interface addresses).
func (p *Policy) WithListeners(listeners []netip.AddrPort, localAddrs []netip.Addr) *Policy {
	q := *p
	q.self = nil
	for _, l := range listeners {
		port := l.Port()
		if port == 0 {
			continue
		}
		for _, pr := range local {
			q.self = append(q.self, Rule{prefix: pr, port: port})
		}
		ip := l.Addr().Unmap().WithZone("")
		if !ip.IsUnspecified() {
			q.self = append(q.self, Rule{prefix: netip.PrefixFrom(ip, ip.BitLen()), port: port})
			continue
		}
		for _, a := range localAddrs {
			a = a.Unmap().WithZone("")
			q.self = append(q.self, Rule{prefix: netip.PrefixFrom(a, a.BitLen()), port: port})
		}
	}
	return &q
}

// Equal reports whether p and q decide alike.
func (p *Policy) Equal(q *Policy) bool {
	return p == q || p != nil && q != nil && slices.Equal(p.allow, q.allow) && slices.Equal(p.deny, q.deny) && slices.Equal(p.self, q.self)
}

// ListenerAddrs are the listener addresses of a config (host:port, an empty host for all
// interfaces); those that do not parse or have port 0 are left out.
func ListenerAddrs(addrs ...string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			continue
		}
		ip := netip.IPv6Unspecified()
		if host != "" {
			if ip, err = netip.ParseAddr(host); err != nil {
				ip = netip.IPv6Unspecified() // a name: assume it may reach the listener anywhere
			}
		}
		out = append(out, netip.AddrPortFrom(ip, uint16(n)))
	}
	return out
}

// LocalAddrs returns the host's interface addresses.
func LocalAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if pn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(pn.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// A Refusal is a connection the policy refuses. Its message names the address, for logs and
// for the admins who register models; the data plane's clients get a fault without it.
type Refusal struct {
	Host   string
	Addr   netip.AddrPort // invalid when a name was refused before it was resolved
	Reason string
}

func (r *Refusal) Error() string {
	where := r.Host
	if r.Addr.IsValid() && r.Addr.Addr().String() != r.Host {
		where += " (" + r.Addr.String() + ")"
	} else if r.Addr.IsValid() {
		where = r.Addr.String()
	}
	return "the egress policy refuses " + where + ": " + r.Reason
}

// CheckName checks a host name (or address) before it is resolved: only the deny entries that
// are names can refuse it. A name that passes must still have each address it resolves to
// checked (Check).
func (p *Policy) CheckName(host string, port uint16) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.Check(host, ip, port)
	}
	for i, r := range p.deny {
		if !r.prefix.IsValid() && r.matches(host, netip.Addr{}, port) {
			return &Refusal{Host: host, Reason: "denied by egress.deny[" + strconv.Itoa(i) + "]"}
		}
	}
	return nil
}

// Check decides a connection to ip:port made for host (the endpoint's host name, or the address
// itself). A deny entry refuses it whatever the allow entries say; otherwise an allow entry lets
// it through; otherwise it is refused when it would reach one of the gateway's listeners, a
// link-local address or a cloud metadata service, and allowed when not. Only an allow entry that
// names the listener's port lets a connection reach a listener of the gateway.
func (p *Policy) Check(host string, ip netip.Addr, port uint16) error {
	ip = ip.Unmap().WithZone("")
	refuse := func(reason string) error {
		return &Refusal{Host: host, Addr: netip.AddrPortFrom(ip, port), Reason: reason}
	}
	for i, r := range p.deny {
		if r.matches(host, ip, port) {
			return refuse("denied by egress.deny[" + strconv.Itoa(i) + "]")
		}
	}
	self := false
	for _, r := range p.self {
		if r.matches(host, ip, port) {
			self = true
			break
		}
	}
	for _, r := range p.allow {
		if r.matches(host, ip, port) && (!self || r.port != 0) {
			return nil
		}
	}
	switch {
	case self:
		return refuse("it is a listener of this gateway")
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return refuse("it is a link-local address")
	}
	for _, m := range metadata {
		if m.Contains(ip) {
			return refuse("it is a cloud metadata address")
		}
	}
	return nil
}

// CheckURL checks an endpoint when it is registered: a literal address in full, a host name
// against the deny entries that are names (its addresses are checked when it is dialed).
func (p *Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil // the endpoint's own validation says what is wrong
	}
	port, ok := Port(u)
	if !ok {
		return nil
	}
	return p.CheckName(u.Hostname(), port)
}

// Port returns the port a URL connects to: its own, or its scheme's.
func Port(u *url.URL) (uint16, bool) {
	if s := u.Port(); s != "" {
		n, err := strconv.ParseUint(s, 10, 16)
		return uint16(n), err == nil && n > 0
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return 443, true
	case "http":
		return 80, true
	}
	return 0, false
}
