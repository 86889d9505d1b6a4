// Parsing and a structural check of the JSON Schemas users type into the model form, so mistakes
// show while typing; the gateway compiles the schema for real when the model is saved.

export interface ParseResult {
  value?: unknown;
  error?: string;
}

/** Parses JSON text; an error names the line and column where it went wrong. */
export function parseJSON(text: string): ParseResult {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = "";
    if (pos) {
      const offset = Number(pos[1]);
      const before = text.slice(0, offset);
      const line = before.split("\n").length;
      const col = offset - before.lastIndexOf("\n");
      where = ` (line ${line}, column ${col})`;
    }
    const clean = msg.replace(/^JSON\.parse: /, "").replace(/ in JSON at position \d+.*$/, "").replace(/ at position \d+.*$/, "");
    return { error: `Not valid JSON: ${clean}${where}` };
  }
}

const TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"];
const SCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
const SCHEMA_ONE = ["additionalProperties", "items", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "additionalItems"];
const SCHEMA_LISTS = ["anyOf", "oneOf", "allOf", "prefixItems"];
const COUNTS = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains"];
const NUMBERS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
const STRINGS = ["title", "description", "$id", "$ref", "$schema", "$comment", "format", "$anchor"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reports what makes value not a JSON Schema, each problem with its path. */
export function checkSchema(value: unknown, path = ""): string[] {
  const at = (p: string) => (p ? p : "the schema");
  if (typeof value === "boolean") return [];
  if (!isObject(value)) return [`${at(path)} must be an object (or true/false)`];
  const out: string[] = [];
  const sub = (k: string) => (path ? `${path}.${k}` : k);
  const t = value.type;
  if (t !== undefined) {
    const list = Array.isArray(t) ? t : [t];
    if (list.length === 0) out.push(`${sub("type")} must not be empty`);
    for (const x of list) {
      if (typeof x !== "string" || !TYPES.includes(x)) out.push(`${sub("type")}: ${JSON.stringify(x)} is not one of ${TYPES.join(", ")}`);
    }
  }
  for (const k of SCHEMA_MAPS) {
    if (value[k] === undefined) continue;
    if (!isObject(value[k])) {
      out.push(`${sub(k)} must be an object of schemas`);
      continue;
    }
    for (const [name, s] of Object.entries(value[k] as Record<string, unknown>)) out.push(...checkSchema(s, `${sub(k)}.${name}`));
  }
  for (const k of SCHEMA_ONE) {
    if (value[k] === undefined) continue;
    if (k === "items" && Array.isArray(value[k])) {
      (value[k] as unknown[]).forEach((s, i) => out.push(...checkSchema(s, `${sub(k)}[${i}]`)));
      continue;
    }
    out.push(...checkSchema(value[k], sub(k)));
  }
  for (const k of SCHEMA_LISTS) {
    if (value[k] === undefined) continue;
    if (!Array.isArray(value[k]) || (value[k] as unknown[]).length === 0) {
      out.push(`${sub(k)} must be a non-empty array of schemas`);
      continue;
    }
    (value[k] as unknown[]).forEach((s, i) => out.push(...checkSchema(s, `${sub(k)}[${i}]`)));
  }
  if (value.required !== undefined) {
    const r = value.required;
    if (!Array.isArray(r) || r.some((x) => typeof x !== "string")) out.push(`${sub("required")} must be an array of property names`);
    else if (new Set(r).size !== r.length) out.push(`${sub("required")} must not repeat names`);
  }
  if (value.enum !== undefined && !Array.isArray(value.enum)) out.push(`${sub("enum")} must be an array`);
  for (const k of COUNTS) {
    const v = value[k];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 0)) out.push(`${sub(k)} must be a non-negative integer`);
  }
  for (const k of NUMBERS) {
    const v = value[k];
    if (v !== undefined && typeof v !== "number" && !(k.startsWith("exclusive") && typeof v === "boolean")) out.push(`${sub(k)} must be a number`);
  }
  if (typeof value.multipleOf === "number" && value.multipleOf <= 0) out.push(`${sub("multipleOf")} must be greater than 0`);
  for (const k of STRINGS) {
    if (value[k] !== undefined && typeof value[k] !== "string") out.push(`${sub(k)} must be a string`);
  }
  if (value.pattern !== undefined) {
    if (typeof value.pattern !== "string") out.push(`${sub("pattern")} must be a string`);
    else {
      try {
        new RegExp(value.pattern, "u");
      } catch (e) {
        out.push(`${sub("pattern")} is not a valid regular expression: ${(e as Error).message}`);
      }
    }
  }
  return out;
}

/** Parses and checks schema text. Empty text is no schema (and no error). */
export function validateSchemaText(text: string): { value?: unknown; errors: string[] } {
  if (!text.trim()) return { errors: [] };
  const p = parseJSON(text);
  if (p.error) return { errors: [p.error] };
  return { value: p.value, errors: checkSchema(p.value) };
}

export const exampleSchemas: Record<string, { label: string; schema: unknown }> = {
  chat: {
    label: "Chat messages",
    schema: {
      type: "object",
      properties: {
        messages: {
          type: "array",
          items: {
            type: "object",
            properties: { role: { type: "string", enum: ["system", "user", "assistant"] }, content: { type: "string" } },
            required: ["role", "content"],
          },
        },
        temperature: { type: "number", minimum: 0, maximum: 2 },
      },
      required: ["messages"],
    },
  },
  prompt: {
    label: "Prompt",
    schema: {
      type: "object",
      properties: { prompt: { type: "string", description: "What to ask" }, max_tokens: { type: "integer", minimum: 1 } },
      required: ["prompt"],
    },
  },
  classification: {
    label: "Classification",
    schema: {
      type: "object",
      properties: { label: { type: "string" }, score: { type: "number", minimum: 0, maximum: 1 } },
      required: ["label"],
    },
  },
};
