import { describe, expect, it } from "vitest";
import { buildBody, fieldsFromSchema } from "./schemaForm";

describe("the test form from an input schema", () => {
  const schema = {
    type: "object",
    properties: {
      messages: { type: "array", items: { type: "object", properties: { role: { type: "string" }, content: { type: "string" } } } },
      prompt: { type: "string" },
      temperature: { type: "number", minimum: 0, maximum: 2 },
      mode: { enum: ["fast", "good"] },
      stream: { type: "boolean" },
      extra: { type: "object" },
    },
    required: ["prompt"],
  };

  it("has a field per property", () => {
    const f = fieldsFromSchema(schema)!;
    expect(f.map((x) => [x.name, x.kind, x.required])).toEqual([
      ["messages", "messages", false],
      ["prompt", "text", true],
      ["temperature", "number", false],
      ["mode", "enum", false],
      ["stream", "boolean", false],
      ["extra", "json", false],
    ]);
    expect(fieldsFromSchema({ type: "string" })).toBeNull();
  });

  it("builds a body, checking what was typed", () => {
    const f = fieldsFromSchema(schema)!;
    expect(buildBody(f, { temperature: "3" }).errors).toEqual({ prompt: "prompt is required", temperature: "temperature must be at most 2" });
    expect(buildBody(f, { prompt: "hi", temperature: "0.5", extra: '{"a":1}', stream: true }, [{ role: "user", content: "x" }]).body).toEqual({
      messages: [{ role: "user", content: "x" }],
      prompt: "hi",
      temperature: 0.5,
      extra: { a: 1 },
      stream: true,
    });
  });
});
