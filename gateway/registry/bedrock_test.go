package registry

import (
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
)

// Bedrock Runtime's hosts imply bedrock, but its OpenAI-compatible path is openai's.
func TestInferBedrock(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://bedrock-runtime.us-east-1.amazonaws.com":           "bedrock",
		"https://bedrock-runtime-fips.us-west-2.amazonaws.com/":     "bedrock",
		"https://bedrock-runtime.cn-north-1.amazonaws.com.cn":       "bedrock",
		"https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1": "openai",
		"https://bedrock.us-east-1.amazonaws.com":                   "",
		"https://bedrock-runtime.us-east-1.amazonaws.com.evil.test": "",
	} {
		if got := spec.InferProvider(endpoint); got != want {
			t.Errorf("%s: %q, want %q", endpoint, got, want)
		}
	}
}

// A bedrock model's key is AWS credentials with an optional session token, and its region an
// AWS region; what is wrong is reported with its path, never quoting the key.
func TestValidateBedrock(t *testing.T) {
	f := func(key string, config map[string]any, want ...string) {
		t.Helper()
		m := &spec.Model{ID: "b", Name: "B", Provider: "bedrock", Endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com",
			APIKey: secret.New(key), Config: config, Replicas: []spec.Replica{{Endpoint: "https://bedrock-runtime.us-west-2.amazonaws.com", APIKey: secret.New(key)}}}
		m.Normalize()
		var es decode.Errors
		m.Validate("models[0]", nil, &es)
		got := es.Error()
		if len(want) == 0 && len(es) > 0 {
			t.Fatalf("%q %v: %s", key, config, got)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("%q %v: %q, want %q", key, config, got, w)
			}
		}
		if key != "" && strings.Contains(got, key) {
			t.Fatalf("the key is quoted: %s", got)
		}
	}
	f("AKIAEXAMPLE:secretEXAMPLE", nil)
	f("AKIAEXAMPLE:secret/EXAMPLE+x:FwoGZXIvYXdzEXAMPLE==", map[string]any{"region": "us-gov-west-1"})
	f("", map[string]any{"region": "eu-central-2"})
	f("just-a-key", nil, "models[0].apiKey: must be ACCESS_KEY_ID:SECRET_ACCESS_KEY", "models[0].replicas[0].apiKey: must be")
	f("AKIA:secret:token:more", nil, "models[0].apiKey")
	f("AKIA::token", nil, "models[0].apiKey")
	f("AKIA:secret:", nil, "models[0].apiKey")
	f("AKIA:sec ret", nil, "models[0].apiKey")
	f("AKIA:secret", map[string]any{"region": "Virginia"}, `models[0].config.region: "Virginia" is not an AWS region`)
	f("AKIA:secret", map[string]any{"region": 1}, `models[0].config.region: 1 is not an AWS region`)
}
