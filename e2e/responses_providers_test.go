package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// The official openai-go SDK's Responses API, unchanged, against a fake upstream of every
// provider kind the gateway translates to: plain, streamed, and continued with
// previous_response_id on another provider than the one that answered first.
func TestResponsesOnEveryProvider(t *testing.T) {
	o, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	v, err := fakeupstream.StartVendors()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	gm, err := fakeupstream.StartGemini("gm-e2e-key-0000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gm.Close)
	az, err := fakeupstream.StartAzure("az-e2e-key-0000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	br, err := fakeupstream.StartBedrock("AKIDE2E00000", "e2e-secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Close)
	g := gt.Start(t, "", `models:
  - {id: openai, name: OpenAI, provider: openai, endpoint: `+o.URL+`}
  - {id: anthropic, name: Anthropic, provider: anthropic, endpoint: `+v.URL+`/anthropic}
  - {id: gemini, name: Gemini, provider: gemini, endpoint: `+gm.URL+`, upstreamModel: gemini-2.5-flash, apiKey: gm-e2e-key-0000}
  - {id: azure, name: Azure, provider: azure, endpoint: `+az.URL+`, upstreamModel: gpt-4o-deploy, apiKey: az-e2e-key-0000}
  - {id: bedrock, name: Bedrock, provider: bedrock, endpoint: `+br.URL+`, upstreamModel: "amazon.nova-lite-v1:0",
     apiKey: "AKIDE2E00000:e2e-secret", config: {region: us-east-1}}
  - {id: ollama, name: Ollama, provider: ollama, endpoint: `+v.URL+`/ollama, upstreamModel: llama3}
`)
	c := client(g, gt.Key)
	ctx := context.Background()
	input := func(s string) responses.ResponseNewParamsInputUnion {
		return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
	}
	models := []string{"openai", "anthropic", "gemini", "azure", "bedrock", "ollama"}
	for i, model := range models {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model, Input: input("hello " + model)})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(resp.OutputText(), "hello "+model) || resp.Status != "completed" || resp.Usage.OutputTokens == 0 {
				t.Fatalf("response %q %s, usage %+v", resp.OutputText(), resp.Status, resp.Usage)
			}

			stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: model, Input: input("stream " + model)})
			var text string
			var final responses.Response
			for stream.Next() {
				switch ev := stream.Current(); ev.Type {
				case "response.output_text.delta":
					text += ev.Delta
				case "response.completed":
					final = ev.Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text, "stream "+model) || final.OutputText() != text {
				t.Fatalf("streamed %q, completed with %q", text, final.OutputText())
			}

			// The conversation goes on with the next provider's model.
			other := models[(i+1)%len(models)]
			next, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: other, PreviousResponseID: openai.String(resp.ID),
				Input: input("and then " + other)})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(next.OutputText(), "and then "+other) || next.PreviousResponseID != resp.ID {
				t.Fatalf("continued on %s: %q", other, next.OutputText())
			}
		})
	}
}
