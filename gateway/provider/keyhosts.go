package provider

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/iomhq/iom/gateway/egress"
)

// keyHosts are where a provider-wide key (providers.<name>.apiKey) goes by default: the vendor's
// own API. A model elsewhere gets it only when providers.<name>.keyHosts lists its host; a key
// of its own it may have anywhere.
var keyHosts = map[string][]string{
	"openai":      {"api.openai.com"},
	"anthropic":   {"api.anthropic.com"},
	"huggingface": {"api-inference.huggingface.co", "router.huggingface.co", "*.endpoints.huggingface.cloud"},
	"ollama":      {"ollama.com"},
	"gemini":      {"generativelanguage.googleapis.com"},
	// Azure OpenAI resources, and Azure AI Foundry's (services.ai, and cognitiveservices, where
	// newer resources serve their OpenAI deployments).
	"azure": {"*.openai.azure.com", "*.services.ai.azure.com", "*.cognitiveservices.azure.com"},
}

// keyHostMatch recognises a provider's hosts that a list cannot name: Bedrock Runtime's, one
// per region (bedrock-runtime.{region}.amazonaws.com), where *.amazonaws.com would take in
// every AWS customer's hosts. They take the key over HTTPS on port 443.
var keyHostMatch = map[string]func(host string) bool{"bedrock": bedrockHost}

// KeyHosts returns the hosts a provider's provider-wide key goes to by default.
func KeyHosts(provider string) []string { return keyHosts[provider] }

var errKeyHost = errors.New("is not a host name or address, with an optional :port (*.example.com for subdomains)")

// CheckKeyHost checks an entry of providers.<name>.keyHosts: a host (HTTPS on port 443), a
// host:port (either scheme, on that port), *.example.com or *.example.com:port (subdomains).
func CheckKeyHost(entry string) error {
	_, _, _, err := parseKeyHost(entry)
	return err
}

func parseKeyHost(entry string) (host string, wild bool, port uint16, err error) {
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

// keyGoesTo reports whether a provider-wide key may be sent to endpoint: its host is one of the
// provider's keyHosts or of extra.
func keyGoesTo(provider string, extra []string, endpoint *url.URL) bool {
	port, ok := egress.Port(endpoint)
	if !ok {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(endpoint.Hostname()), ".")
	tls := strings.EqualFold(endpoint.Scheme, "https")
	if match := keyHostMatch[provider]; match != nil && tls && port == 443 && match(host) {
		return true
	}
	for _, list := range [][]string{keyHosts[provider], extra} {
		for _, entry := range list {
			h, wild, p, err := parseKeyHost(entry)
			if err != nil {
				continue
			}
			switch {
			case p == 0 && (!tls || port != 443), p != 0 && p != port:
				continue
			case wild && strings.HasSuffix(host, "."+h), !wild && host == h:
				return true
			}
		}
	}
	return false
}
