package provider

import (
	"testing"

	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
)

// An azure model's URLs: a deployment's under a resource, with the api-version (the model's,
// the endpoint's query's, or the default), or Foundry's /openai/v1 paths without one.
func TestAzureURLs(t *testing.T) {
	pool := NewPool()
	for _, c := range []struct {
		endpoint, version, chat, embed, probe string
	}{
		{"https://res.openai.azure.com", "",
			"https://res.openai.azure.com/openai/deployments/my%20dep/chat/completions?api-version=" + AzureAPIVersion,
			"https://res.openai.azure.com/openai/deployments/my%20dep/embeddings?api-version=" + AzureAPIVersion,
			"https://res.openai.azure.com/openai/models?api-version=" + AzureAPIVersion},
		{"https://res.openai.azure.com/openai/", "2025-04-01-preview",
			"https://res.openai.azure.com/openai/deployments/my%20dep/chat/completions?api-version=2025-04-01-preview", "", ""},
		{"https://res.openai.azure.com/openai/deployments/other/chat/completions?api-version=2024-06-01", "",
			"https://res.openai.azure.com/openai/deployments/my%20dep/chat/completions?api-version=2024-06-01", "", ""},
		{"https://proj.services.ai.azure.com/openai/v1/", "",
			"https://proj.services.ai.azure.com/openai/v1/chat/completions",
			"https://proj.services.ai.azure.com/openai/v1/embeddings",
			"https://proj.services.ai.azure.com/openai/v1/models"},
		{"https://proj.services.ai.azure.com/openai/v1", "preview",
			"https://proj.services.ai.azure.com/openai/v1/chat/completions?api-version=preview", "", ""},
	} {
		m := &spec.Model{ID: "m", Provider: "azure", Endpoint: c.endpoint, UpstreamModel: "my dep"}
		if c.version != "" {
			m.Config = map[string]any{"apiVersion": c.version}
		}
		u, err := pool.Upstream(m, Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		if u.URL(Chat) != c.chat || c.embed != "" && u.URL(Embedding) != c.embed || c.probe != "" && u.state.(*azureState).probe != c.probe {
			t.Errorf("%s %s:\n chat %s\n embed %s\n probe %s", c.endpoint, c.version, u.URL(Chat), u.URL(Embedding), u.state.(*azureState).probe)
		}
	}
}

// The key goes in api-key, never as a bearer; an Entra token (a key starting "Bearer ") goes as
// the Authorization header.
func TestAzureAuth(t *testing.T) {
	pool := NewPool()
	head := func(key string) (apiKey, authorization string) {
		u, err := pool.Upstream(&spec.Model{ID: "m", Provider: "azure", Endpoint: "https://res.openai.azure.com", UpstreamModel: "d",
			APIKey: secret.New(key), Headers: map[string]string{"X-Extra": "1"}}, Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		for op := Op(0); op < numOps; op++ {
			for st := range u.heads[op] {
				h := &u.heads[op][st].header
				if string(h.Peek("X-Extra")) != "1" {
					t.Fatalf("the model's headers are lost")
				}
				k, a := string(h.Peek("api-key")), string(h.Peek("Authorization"))
				if op == 0 && st == 0 {
					apiKey, authorization = k, a
				} else if k != apiKey || a != authorization {
					t.Fatalf("the heads of %s differ: %q %q", op, k, a)
				}
			}
		}
		return apiKey, authorization
	}
	if k, a := head("azure-key-0000"); k != "azure-key-0000" || a != "" {
		t.Fatalf("api key: %q %q", k, a)
	}
	if k, a := head("Bearer eyJ0eXAi.entra"); k != "" || a != "Bearer eyJ0eXAi.entra" {
		t.Fatalf("entra token: %q %q", k, a)
	}
	if k, a := head(""); k != "" || a != "" {
		t.Fatalf("no key: %q %q", k, a)
	}
}
