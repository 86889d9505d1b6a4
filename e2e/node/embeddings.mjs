// Embeddings through the official `openai` package, which asks for base64 vectors unless told
// otherwise: every kind of model must give the same vectors as a float request. Run by
// e2e/node_test.go with IOM_BASE_URL, IOM_KEY and IOM_EMBED_MODELS (comma-separated ids).
import OpenAI from "openai";
import assert from "node:assert/strict";

const client = new OpenAI({ baseURL: process.env.IOM_BASE_URL, apiKey: process.env.IOM_KEY, maxRetries: 0 });
const input = ["the quick brown fox", "jumps over the lazy dog"];

for (const model of process.env.IOM_EMBED_MODELS.split(",")) {
  const floats = await client.embeddings.create({ model, input, encoding_format: "float" });
  const dflt = await client.embeddings.create({ model, input });
  const b64 = await client.embeddings.create({ model, input, encoding_format: "base64" });
  assert.equal(floats.data.length, 2, model);
  for (const [i, want] of floats.data.entries()) {
    assert.ok(Array.isArray(want.embedding) && want.embedding.length > 0, `${model}: float vector ${i}`);
    const got = dflt.data[i].embedding;
    assert.equal(got.length, want.embedding.length, `${model}: vector ${i} has ${got.length} values, not ${want.embedding.length}`);
    for (const [j, v] of want.embedding.entries()) {
      assert.equal(got[j], Math.fround(v), `${model}: vector ${i} value ${j}`);
    }
    // Asked explicitly, base64 comes as the SDK returns it: the string itself.
    assert.equal(typeof b64.data[i].embedding, "string", `${model}: explicit base64`);
    const bytes = Buffer.from(b64.data[i].embedding, "base64");
    assert.equal(bytes.length, 4 * want.embedding.length, `${model}: base64 length`);
    assert.equal(bytes.readFloatLE(0), Math.fround(want.embedding[0]), `${model}: base64 value`);
  }
  console.log("embeddings ok", model, floats.data[0].embedding.length);
}

// dimensions shortens the vectors to unit length, whatever the model.
const model = process.env.IOM_EMBED_MODELS.split(",").at(-1);
const short = await client.embeddings.create({ model, input, dimensions: 3, encoding_format: "float" });
const v = short.data[0].embedding;
assert.equal(v.length, 3);
assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-6, `not unit length: ${v}`);
console.log("dimensions ok");
