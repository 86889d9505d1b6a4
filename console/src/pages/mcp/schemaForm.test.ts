import { describe, expect, it } from "vitest";
import { argumentsOf, fieldsOf } from "./schemaForm";

const schema = {
  type: "object",
  properties: {
    verbose: { type: "boolean" },
    duration: { type: "number", default: 10, description: "seconds" },
    steps: { type: "integer" },
    mode: { type: "string", enum: ["fast", "slow"] },
    filter: { type: "object" },
    message: { type: "string" },
  },
  required: ["message", "steps"],
};

describe("tool form", () => {
  it("has a field per property, required ones first, with the schema's defaults", () => {
    const fields = fieldsOf(schema);
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ["steps", "integer", true],
      ["message", "string", true],
      ["verbose", "boolean", false],
      ["duration", "number", false],
      ["mode", "enum", false],
      ["filter", "json", false],
    ]);
    expect(fields.find((f) => f.name === "duration")?.initial).toBe("10");
    expect(fields.find((f) => f.name === "mode")?.options).toEqual(["fast", "slow"]);
  });

  it("turns the values into arguments, leaving empty optional fields out", () => {
    const fields = fieldsOf(schema);
    const { args, errors } = argumentsOf(fields, { message: "hi", steps: "3", filter: '{"a":1}', verbose: true });
    expect(errors).toEqual({});
    expect(args).toEqual({ message: "hi", steps: 3, duration: 10, filter: { a: 1 }, verbose: true });
  });

  it("reports what cannot be sent", () => {
    const { errors } = argumentsOf(fieldsOf(schema), { steps: "2.5", filter: "{nope" });
    expect(errors).toEqual({ message: "required", steps: "must be a whole number", filter: "must be JSON" });
  });

  it("copes with a schema without properties", () => {
    expect(fieldsOf({ type: "object" })).toEqual([]);
    expect(fieldsOf(undefined)).toEqual([]);
  });
});
