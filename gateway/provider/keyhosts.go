package provider

import (
	"net/url"
	"strings"

	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/spec"
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
			h, wild, p, err := spec.ParseKeyHost(entry)
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
