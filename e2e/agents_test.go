package e2e

import (
	"strings"
	"testing"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// The OpenAI Agents SDK runs a tool-calling agent through the gateway's Responses API: on a
// model whose upstream has the Responses API (passed through) and on an Azure deployment that
// has only chat completions (translated). Each upstream first answers with a call of the tool,
// then, given its output, with text.
func TestAgentsNodeSDK(t *testing.T) {
	f, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	a, err := fakeupstream.StartAzure("az-test-key-0000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	g := gt.Start(t, "", `models:
  - {id: gpt, name: GPT, provider: openai, endpoint: `+f.URL+`, upstreamModel: gpt-up, config: {responses: passthrough}}
  - {id: azure-gpt, name: Azure GPT, provider: azure, endpoint: `+a.URL+`, upstreamModel: gpt-4o-deploy, apiKey: az-test-key-0000}
`)
	out := nodeScript(t, g, "agents.mjs", "IOM_AGENT_MODELS=gpt,azure-gpt")
	for _, model := range []string{"gpt", "azure-gpt"} {
		for _, check := range []string{"run ok", "stream ok", "previous ok"} {
			if want := check + " " + model; !strings.Contains(out, want) {
				t.Fatalf("missing %q in:\n%s", want, out)
			}
		}
	}
	for _, r := range f.Received() {
		if r.Path != "/v1/responses" {
			t.Fatalf("the passthrough model's upstream got %s", r.Path)
		}
	}
}
