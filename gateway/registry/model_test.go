package registry

import (
	"testing"

	"github.com/iomhq/iom/gateway/spec"
)

// A model without a provider gets the one its endpoint implies.
func TestInferProvider(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://api.openai.com/v1":                               "openai",
		"https://api.anthropic.com":                               "anthropic",
		"https://generativelanguage.googleapis.com/v1beta":        "gemini",
		"https://generativelanguage.googleapis.com/v1beta/openai": "openai",
		"https://my-resource.openai.azure.com":                    "azure",
		"https://my-resource.openai.azure.com/openai/v1":          "azure",
		"https://my-project.services.ai.azure.com/openai/v1":      "azure",
		"http://localhost:11434":                                  "ollama",
		"http://10.0.0.5:8000/v1":                                 "openai",
		"https://api-inference.huggingface.co/models/x":           "huggingface",
		"https://example.com/predict":                             "",
	} {
		if got := spec.InferProvider(endpoint); got != want {
			t.Errorf("%s: %q, want %q", endpoint, got, want)
		}
	}
}
