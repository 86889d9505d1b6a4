// The official `openai` package's Responses API, unchanged, against an IoM gateway. Run by
// e2e/node_test.go with IOM_BASE_URL (…/v1) and IOM_KEY set; "echo" is served by an
// OpenAI-style upstream and "claude" by an Anthropic-style one (which calls the weather tool),
// both through the gateway's translation. Prints one line per check.
import OpenAI from "openai";
import assert from "node:assert/strict";

const client = new OpenAI({ baseURL: process.env.IOM_BASE_URL, apiKey: process.env.IOM_KEY, maxRetries: 0 });

const resp = await client.responses.create({ model: "echo", instructions: "be brief", input: "hello from node" });
assert.equal(resp.object, "response");
assert.equal(resp.status, "completed");
assert.equal(resp.output_text, "echo: hello from node");
assert.ok(resp.id.startsWith("resp_"), resp.id);
assert.equal(resp.usage.output_tokens, 4);
assert.equal(resp.usage.total_tokens, resp.usage.input_tokens + resp.usage.output_tokens);
console.log("create ok");

// The raw event stream, then the SDK's stream helper, which checks the events' order.
const events = await client.responses.create({ model: "echo", input: "stream from node please", stream: true });
let text = "";
let last;
const seen = [];
for await (const event of events) {
  seen.push(event.sequence_number);
  if (event.type === "response.output_text.delta") text += event.delta;
  last = event;
}
assert.equal(text, "echo: stream from node please");
assert.equal(last.type, "response.completed");
assert.equal(last.response.output[0].content[0].text, text);
assert.deepEqual(seen, seen.map((_, i) => i));
const helper = client.responses.stream({ model: "echo", input: "through the helper" });
let helped = "";
helper.on("response.output_text.delta", (e) => (helped += e.delta));
const streamed = await helper.finalResponse();
assert.equal(helped, "echo: through the helper");
assert.equal(streamed.output_text, helped);
console.log("stream ok", seen.length, "events");

// previous_response_id carries the conversation on.
const next = await client.responses.create({ model: "echo", previous_response_id: resp.id, input: "and more" });
assert.equal(next.output_text, "echo: and more");
assert.equal(next.previous_response_id, resp.id);
assert.ok(next.usage.input_tokens > resp.usage.input_tokens, JSON.stringify(next.usage));
const got = await client.responses.retrieve(next.id);
assert.equal(got.output_text ?? got.output[0].content[0].text, "echo: and more");
const items = [];
for await (const item of client.responses.inputItems.list(next.id)) items.push(item);
assert.equal(items.length, 1);
assert.equal(items[0].content[0].text, "and more");
console.log("previous ok");

// A function-calling round trip: the call streamed through the helper, its output sent back.
const tools = [{ type: "function", name: "get_weather", description: "weather by city", strict: false,
  parameters: { type: "object", properties: { city: { type: "string" } } } }];
const toolStream = client.responses.stream({ model: "claude", tools, input: "what is the weather?" });
let args = "";
toolStream.on("response.function_call_arguments.delta", (e) => (args += e.delta));
const withCall = await toolStream.finalResponse();
const call = withCall.output.find((item) => item.type === "function_call");
assert.ok(call, JSON.stringify(withCall.output));
assert.equal(call.name, "get_weather");
assert.deepEqual(JSON.parse(call.arguments), { city: "Paris" });
assert.equal(args, call.arguments);
const answer = await client.responses.create({
  model: "claude",
  tools,
  previous_response_id: withCall.id,
  input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny" }],
});
assert.equal(answer.output_text, "the tool said sunny");
const whole = await client.responses.create({
  model: "claude",
  tools,
  store: false,
  input: [{ role: "user", content: "what is the weather?" }, call, { type: "function_call_output", call_id: call.call_id, output: "rainy" }],
});
assert.equal(whole.output_text, "the tool said rainy");
console.log("tools ok");

await client.responses.delete(resp.id);
try {
  await client.responses.retrieve(resp.id);
  assert.fail("a deleted response must be gone");
} catch (e) {
  assert.ok(e instanceof OpenAI.NotFoundError, `got ${e}`);
}
try {
  await client.responses.create({ model: "echo", input: "x", tools: [{ type: "web_search" }] });
  assert.fail("a hosted tool must be refused");
} catch (e) {
  assert.ok(e instanceof OpenAI.BadRequestError, `got ${e}`);
  assert.match(e.message, /only function tools/);
}
try {
  await client.responses.create({ model: "nope", input: "x" });
  assert.fail("an unknown model must fail");
} catch (e) {
  assert.ok(e instanceof OpenAI.NotFoundError, `got ${e}`);
}
console.log("errors ok");
