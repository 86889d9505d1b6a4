package spec

import (
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/iomhq/iom/gateway/egress"
)

var errKeyHost = errors.New("is not a host name or address, with an optional :port (*.example.com for subdomains)")

// CheckKeyHost checks an entry of providers.<name>.keyHosts: a host (HTTPS on port 443), a
// host:port (either scheme, on that port), *.example.com or *.example.com:port (subdomains).
func CheckKeyHost(entry string) error {
	_, _, _, err := ParseKeyHost(entry)
	return err
}

// ParseKeyHost splits a keyHosts entry into its host, whether it names subdomains, and its
// port (0: HTTPS on 443).
func ParseKeyHost(entry string) (host string, wild bool, port uint16, err error) {
	host = entry
	if h, p, e := net.SplitHostPort(entry); e == nil {
		n, perr := strconv.ParseUint(p, 10, 16)
		if perr != nil || n == 0 {
			return "", false, 0, errKeyHost
		}
		host, port = h, uint16(n)
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	host, wild = strings.CutPrefix(host, "*.")
	if host == "" || strings.ContainsAny(host, "/@?#*% ") {
		return "", false, 0, errKeyHost
	}
	if _, perr := egress.ParseRule(host); perr != nil {
		return "", false, 0, errKeyHost
	}
	return host, wild, port, nil
}
