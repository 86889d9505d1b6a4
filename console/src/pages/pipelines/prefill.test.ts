import { describe, expect, it } from "vitest";
import { DEFAULT_RUN_INPUT, prefillInput, prefillText } from "./prefill";

// The three seed pipelines' input schemas (configs/iom.yaml).
const contentGeneration = {
  type: "object",
  properties: { topic: { type: "string", minLength: 3, maxLength: 200 }, audience: { type: "string" } },
  required: ["topic"],
};
const multimodal = {
  type: "object",
  properties: { image: { type: "string", description: "a data: URL or base64 of a PNG, JPEG or GIF" }, language: { type: "string", enum: ["fr", "es", "de", "en"] } },
  required: ["image"],
};
const dataProcessing = {
  type: "object",
  properties: { series: { type: "array", minItems: 3 }, label: { type: "string" }, horizon: { type: "integer", minimum: 1, maximum: 100 } },
  required: ["series"],
};

describe("prefillInput", () => {
  it("fills the seed pipelines' required properties with values their schemas accept", () => {
    expect(prefillInput(contentGeneration)).toEqual({ topic: "example" });
    expect(prefillInput(multimodal)).toEqual({ image: "example" });
    expect(prefillInput(dataProcessing)).toEqual({ series: [1, 2, 3] });
  });

  it("takes the schema's first example over anything else", () => {
    expect(prefillInput({ ...contentGeneration, examples: [{ topic: "city parks", audience: "kids" }, { topic: "x" }] })).toEqual({ topic: "city parks", audience: "kids" });
  });

  it("uses each property's default or example, optional ones included", () => {
    const schema = {
      type: "object",
      properties: {
        topic: { type: "string", examples: ["rivers"] },
        tone: { type: "string", default: "plain" },
        words: { type: "integer", minimum: 50 },
        notes: { type: "string" },
      },
      required: ["topic", "words"],
    };
    expect(prefillInput(schema)).toEqual({ topic: "rivers", tone: "plain", words: 50 });
  });

  it("makes placeholders of each type that meet the schema's bounds", () => {
    const schema = {
      type: "object",
      properties: {
        name: { type: "string", minLength: 12 },
        code: { type: "string", maxLength: 3 },
        mail: { type: "string", format: "email" },
        lang: { type: "string", enum: ["fr", "de"] },
        ratio: { type: "number", exclusiveMinimum: 0, maximum: 1 },
        count: { type: ["integer", "null"] },
        strict: { type: "boolean" },
        tags: { type: "array", items: { type: "string" } },
        point: { type: "object", properties: { x: { type: "number" }, y: { type: "number" } }, required: ["x"] },
        anything: {},
      },
      required: ["name", "code", "mail", "lang", "ratio", "count", "strict", "tags", "point", "anything"],
    };
    const v = prefillInput(schema) as Record<string, unknown>;
    expect((v.name as string).length).toBeGreaterThanOrEqual(12);
    expect(v).toMatchObject({ code: "exa", mail: "someone@example.com", lang: "fr", ratio: 0.5, count: 1, strict: false, tags: ["example"], point: { x: 1 }, anything: "" });
  });

  it("keeps the prompt input for pipelines without a schema, and formats the text", () => {
    expect(prefillInput(undefined)).toBe(DEFAULT_RUN_INPUT);
    expect(prefillText(contentGeneration)).toBe('{\n  "topic": "example"\n}');
  });
});
