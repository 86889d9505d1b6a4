// The OpenAI Agents SDK (@openai/agents), unchanged, against an IoM gateway: an agent with a
// function tool (defined with tool() and a zod schema) runs in Responses API mode. Run by
// e2e/agents_test.go with IOM_BASE_URL (…/v1), IOM_KEY and IOM_AGENT_MODELS (the models to run
// it on, comma-separated) set; each model's upstream calls the first tool when asked about the
// weather and answers "the tool said …" to its output. Prints one line per check.
import OpenAI from "openai";
import { Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled, tool } from "@openai/agents";
import { z } from "zod";
import assert from "node:assert/strict";

setDefaultOpenAIClient(new OpenAI({ baseURL: process.env.IOM_BASE_URL, apiKey: process.env.IOM_KEY, maxRetries: 0 }));
setOpenAIAPI("responses");
setTracingDisabled(true);

for (const model of process.env.IOM_AGENT_MODELS.split(",")) {
  const calls = [];
  const getWeather = tool({
    name: "get_weather",
    description: "The weather in a city",
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push(city);
      return `sunny in ${city}`;
    },
  });
  const agent = new Agent({ name: "Forecaster", instructions: "Answer with the weather tool.", model, tools: [getWeather] });

  const result = await run(agent, "what is the weather in Paris?");
  assert.deepEqual(calls, ["Paris"]);
  assert.equal(result.finalOutput, "the tool said sunny in Paris");
  const kinds = result.newItems.map((item) => item.type);
  assert.deepEqual(kinds, ["tool_call_item", "tool_call_output_item", "message_output_item"], kinds.join(" "));
  console.log("run ok", model);

  // Streamed, the same run: the tool runs between the two streamed turns.
  const streamed = await run(agent, "what is the weather in Paris?", { stream: true });
  let text = "";
  for await (const event of streamed) {
    if (event.type === "raw_model_stream_event" && event.data.type === "output_text_delta") text += event.data.delta;
  }
  await streamed.completed;
  assert.deepEqual(calls, ["Paris", "Paris"]);
  assert.equal(streamed.finalOutput, "the tool said sunny in Paris");
  assert.equal(text, "the tool said sunny in Paris");
  console.log("stream ok", model);

  // Conversation kept by the gateway: the second run continues the first by its response id.
  const first = await run(agent, "hello there");
  assert.equal(first.finalOutput, "echo: hello there");
  assert.ok(first.lastResponseId?.startsWith("resp_"), String(first.lastResponseId));
  const second = await run(agent, "and again", { previousResponseId: first.lastResponseId });
  assert.equal(second.finalOutput, "echo: and again");
  console.log("previous ok", model);
}
