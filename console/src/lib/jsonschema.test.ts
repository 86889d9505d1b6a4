import { describe, expect, it } from "vitest";
import { checkSchema, parseJSON, validateSchemaText } from "./jsonschema";

describe("JSON and JSON Schema checks", () => {
  it("says what is wrong with bad JSON", () => {
    const r = parseJSON('{\n  "a": 1,\n  "b": }');
    expect(r.error).toMatch(/^Not valid JSON: Unexpected token/);
    expect(parseJSON('{"a": 1}').value).toEqual({ a: 1 });
  });

  it("accepts a real schema", () => {
    expect(checkSchema({ type: "object", properties: { messages: { type: "array", items: { type: "object" } } }, required: ["messages"] })).toEqual([]);
    expect(checkSchema(true)).toEqual([]);
  });

  it("reports each problem with its path", () => {
    const errs = checkSchema({ type: "objekt", properties: { n: { type: "number", minimum: "0" }, s: { type: "string", pattern: "(" } }, required: "n" });
    expect(errs).toContain('type: "objekt" is not one of string, number, integer, boolean, object, array, null');
    expect(errs).toContain("properties.n.minimum must be a number");
    expect(errs.some((e) => e.startsWith("properties.s.pattern is not a valid regular expression"))).toBe(true);
    expect(errs).toContain("required must be an array of property names");
  });

  it("treats empty text as no schema", () => {
    expect(validateSchemaText("  ")).toEqual({ errors: [] });
    expect(validateSchemaText("[1]").errors).toEqual(["the schema must be an object (or true/false)"]);
  });
});
