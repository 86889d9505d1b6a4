// The test run's starting input, from the pipeline's inputSchema, so a first run passes the
// schema check instead of failing on a generic {"prompt": …}.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The input of a pipeline without a schema: a string or {prompt} reaches the first model. */
export const DEFAULT_RUN_INPUT = { prompt: "Write one sentence about the sea." };

function typeOf(s: Obj): string | undefined {
  const t = s.type;
  if (Array.isArray(t)) return t.find((x) => x !== "null") as string | undefined;
  return typeof t === "string" ? t : undefined;
}

/** The value a schema suggests itself: its examples[0], or its default. */
function suggested(s: Obj): { value: unknown } | null {
  if (Array.isArray(s.examples) && s.examples.length > 0) return { value: s.examples[0] };
  if (s.default !== undefined) return { value: s.default };
  return null;
}

function placeholderString(s: Obj): string {
  switch (s.format) {
    case "email":
      return "someone@example.com";
    case "uri":
    case "url":
      return "https://example.com";
    case "date":
      return "2025-01-31";
    case "date-time":
      return "2025-01-31T12:00:00Z";
  }
  const min = typeof s.minLength === "number" ? s.minLength : 0;
  const max = typeof s.maxLength === "number" ? s.maxLength : Infinity;
  let text = "example";
  while (text.length < min) text += " example";
  return text.slice(0, Math.max(max, 0));
}

function placeholderNumber(s: Obj, integer: boolean): number {
  const lo = typeof s.minimum === "number" ? s.minimum : typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum + (integer ? 1 : 0.5) : undefined;
  const hi = typeof s.maximum === "number" ? s.maximum : typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum - (integer ? 1 : 0.5) : undefined;
  let n = lo ?? (hi !== undefined && hi < 1 ? hi : 1);
  if (integer) n = Math.ceil(n);
  return n;
}

/**
 * A value for schema s: what the schema suggests (examples, default, enum, const), else a
 * placeholder of its type that meets its simple bounds (lengths, minimum, minItems), with only
 * the required properties of an object. depth guards against recursive schemas.
 */
export function placeholder(schema: unknown, depth = 0): unknown {
  if (!isObj(schema) || depth > 8) return null;
  const s = suggested(schema);
  if (s) return s.value;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const k of ["anyOf", "oneOf", "allOf"]) {
    const list = schema[k];
    if (Array.isArray(list) && list.length > 0) return placeholder(list[0], depth + 1);
  }
  switch (typeOf(schema) ?? (isObj(schema.properties) ? "object" : undefined)) {
    case "string":
      return placeholderString(schema);
    case "integer":
      return placeholderNumber(schema, true);
    case "number":
      return placeholderNumber(schema, false);
    case "boolean":
      return false;
    case "null":
      return null;
    case "array": {
      const n = typeof schema.minItems === "number" ? schema.minItems : 1;
      // Items without a schema get numbers: any JSON will do, and numbers read naturally.
      return Array.from({ length: n }, (_, i) => (isObj(schema.items) ? placeholder(schema.items, depth + 1) : i + 1));
    }
    case "object":
      return objectValue(schema, depth);
  }
  return "";
}

/** An object's properties: each one's default or example, and a placeholder for the required rest. */
function objectValue(schema: Obj, depth: number): Obj {
  const props = isObj(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required) ? schema.required.filter((x): x is string => typeof x === "string") : [];
  const out: Obj = {};
  for (const [name, p] of Object.entries(props)) {
    const s = isObj(p) ? suggested(p) : null;
    if (s) out[name] = s.value;
    else if (required.includes(name)) out[name] = placeholder(p, depth + 1);
  }
  for (const name of required) if (!(name in out)) out[name] = "";
  return out;
}

/**
 * The test input for a pipeline's inputSchema: the schema's examples[0] when it has one, else
 * what placeholder makes of it. Without a schema, the usual {prompt}.
 */
export function prefillInput(inputSchema: unknown): unknown {
  if (!isObj(inputSchema)) return DEFAULT_RUN_INPUT;
  return placeholder(inputSchema);
}

/** prefillInput as the editor's text. */
export function prefillText(inputSchema: unknown): string {
  return JSON.stringify(prefillInput(inputSchema), null, 2);
}
