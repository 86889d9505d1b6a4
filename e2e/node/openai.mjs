// The official `openai` package, unchanged, against an IoM gateway. Run by e2e/node_test.go
// with IOM_BASE_URL (…/v1) and IOM_KEY set; prints one line per check and exits non-zero on the
// first failure.
import OpenAI from "openai";
import assert from "node:assert/strict";

const client = new OpenAI({ baseURL: process.env.IOM_BASE_URL, apiKey: process.env.IOM_KEY, maxRetries: 0 });

const models = [];
for await (const m of client.models.list()) models.push(m.id);
assert.deepEqual(models.sort(), ["claude", "echo", "embed"]);
console.log("models ok", models.join(","));

const chat = await client.chat.completions.create({
  model: "echo",
  messages: [{ role: "user", content: "hello from node" }],
});
assert.equal(chat.choices[0].message.content, "echo: hello from node");
assert.equal(chat.usage.prompt_tokens, 3);
console.log("chat ok");

const stream = await client.chat.completions.create({
  model: "echo",
  stream: true,
  messages: [{ role: "user", content: "stream from node please" }],
});
let text = "";
let chunks = 0;
for await (const chunk of stream) {
  chunks++;
  text += chunk.choices[0]?.delta?.content ?? "";
}
assert.equal(text, "echo: stream from node please");
assert.ok(chunks >= 5, `only ${chunks} chunks`);
console.log("stream ok", chunks, "chunks");

const emb = await client.embeddings.create({ model: "embed", input: "one two three" });
assert.equal(emb.data.length, 1);
assert.equal(emb.usage.prompt_tokens, 3);
console.log("embeddings ok");

const comp = await client.completions.create({ model: "echo", prompt: "legacy" });
assert.equal(comp.choices[0].text, "echo: legacy");
console.log("completions ok");

try {
  await client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] });
  assert.fail("an unknown model must fail");
} catch (e) {
  assert.ok(e instanceof OpenAI.NotFoundError, `got ${e}`);
  assert.match(e.message, /does not exist/);
}
try {
  await new OpenAI({ baseURL: process.env.IOM_BASE_URL, apiKey: "wrong-key-000000000000", maxRetries: 0 }).models.list();
  assert.fail("a bad key must fail");
} catch (e) {
  assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e}`);
}
console.log("errors ok");
