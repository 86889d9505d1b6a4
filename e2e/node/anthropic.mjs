// The official `@anthropic-ai/sdk` package, unchanged, against an IoM gateway's /v1/messages.
// Run by e2e/node_test.go with IOM_ANTHROPIC_BASE_URL (no /v1) and IOM_KEY; "echo" is served by
// an OpenAI-style upstream and "claude" by an Anthropic-style one, both translated by the gateway.
import Anthropic from "@anthropic-ai/sdk";
import assert from "node:assert/strict";

const base = process.env.IOM_ANTHROPIC_BASE_URL;
const client = new Anthropic({ baseURL: base, apiKey: process.env.IOM_KEY, maxRetries: 0 });

const msg = await client.messages.create({
  model: "echo",
  max_tokens: 64,
  system: "be brief",
  messages: [{ role: "user", content: "hello from anthropic sdk" }],
});
assert.equal(msg.type, "message");
assert.equal(msg.content[0].type, "text");
assert.equal(msg.content[0].text, "echo: hello from anthropic sdk");
assert.equal(msg.stop_reason, "end_turn");
assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0, JSON.stringify(msg.usage));
console.log("message ok");

// The SDK's token count, estimated by the gateway without calling the model.
const count = await client.messages.countTokens({
  model: "echo",
  system: "be brief",
  messages: [{ role: "user", content: "how many tokens is this question worth" }],
});
assert.ok(count.input_tokens >= 10 && count.input_tokens <= 30, JSON.stringify(count));
console.log("count ok");

// Streaming through the SDK's helper, which checks the event sequence.
const stream = client.messages.stream({
  model: "echo",
  max_tokens: 64,
  messages: [{ role: "user", content: "stream with anthropic sdk" }],
});
let text = "";
stream.on("text", (t) => (text += t));
const final = await stream.finalMessage();
assert.equal(text, "echo: stream with anthropic sdk");
assert.equal(final.content[0].text, text);
assert.equal(final.usage.output_tokens, 5);
console.log("stream ok");

// Tool use, streamed, from an Anthropic upstream translated twice.
const tools = [{ name: "get_weather", description: "weather by city", input_schema: { type: "object", properties: { city: { type: "string" } } } }];
const toolStream = client.messages.stream({
  model: "claude",
  max_tokens: 64,
  tools,
  messages: [{ role: "user", content: "what is the weather?" }],
});
const withTool = await toolStream.finalMessage();
const use = withTool.content.find((b) => b.type === "tool_use");
assert.ok(use, JSON.stringify(withTool.content));
assert.equal(use.name, "get_weather");
assert.deepEqual(use.input, { city: "Paris" });
assert.equal(withTool.stop_reason, "tool_use");
const answer = await client.messages.create({
  model: "claude",
  max_tokens: 64,
  tools,
  messages: [
    { role: "user", content: "what is the weather?" },
    { role: "assistant", content: withTool.content },
    { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny" }] },
  ],
});
assert.equal(answer.content[0].text, "the tool said sunny");
console.log("tools ok");

try {
  await client.messages.create({ model: "nope", max_tokens: 8, messages: [{ role: "user", content: "x" }] });
  assert.fail("an unknown model must fail");
} catch (e) {
  assert.ok(e instanceof Anthropic.NotFoundError, `got ${e}`);
}
try {
  await new Anthropic({ baseURL: base, apiKey: "wrong-key-000000000000", maxRetries: 0 }).messages.create({
    model: "echo", max_tokens: 8, messages: [{ role: "user", content: "x" }],
  });
  assert.fail("a bad key must fail");
} catch (e) {
  assert.ok(e instanceof Anthropic.AuthenticationError, `got ${e}`);
}
console.log("errors ok");
