// Builds the test dialog's form from a model's inputSchema: one field per top-level property,
// with a chat composer for a `messages` array of {role, content}.

export type FieldKind = "string" | "text" | "number" | "integer" | "boolean" | "enum" | "json" | "messages";

export interface FieldSpec {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: string[];
  min?: number;
  max?: number;
  defaultValue?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function typeOf(s: Obj): string | undefined {
  const t = s.type;
  if (Array.isArray(t)) return t.find((x) => x !== "null") as string | undefined;
  return t as string | undefined;
}

export function isMessagesSchema(s: unknown): boolean {
  if (!isObj(s) || typeOf(s) !== "array" || !isObj(s.items)) return false;
  const props = (s.items as Obj).properties;
  return isObj(props) && "role" in props && "content" in props;
}

/** The fields of an object schema with properties, or null when the schema gives none. */
export function fieldsFromSchema(schema: unknown): FieldSpec[] | null {
  if (!isObj(schema) || !isObj(schema.properties)) return null;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const out: FieldSpec[] = [];
  for (const [name, raw] of Object.entries(schema.properties)) {
    const s = isObj(raw) ? raw : {};
    const base = {
      name,
      label: typeof s.title === "string" ? s.title : name,
      required: required.includes(name),
      description: typeof s.description === "string" ? s.description : undefined,
      defaultValue: s.default,
    };
    const t = typeOf(s);
    if (Array.isArray(s.enum) && s.enum.every((x) => typeof x === "string")) out.push({ ...base, kind: "enum", options: s.enum as string[] });
    else if (name === "messages" && (isMessagesSchema(s) || (t === "array" && !isObj(s.items)))) out.push({ ...base, kind: "messages" });
    else if (t === "string") {
      const long = (typeof s.maxLength !== "number" || s.maxLength > 120) && /prompt|text|content|input|question|query|document|body/i.test(name);
      out.push({ ...base, kind: long ? "text" : "string" });
    } else if (t === "number" || t === "integer")
      out.push({
        ...base,
        kind: t,
        min: typeof s.minimum === "number" ? s.minimum : undefined,
        max: typeof s.maximum === "number" ? s.maximum : undefined,
      });
    else if (t === "boolean") out.push({ ...base, kind: "boolean" });
    else out.push({ ...base, kind: "json" });
  }
  return out;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * Turns the form's values (as typed) into a request body. Empty optional fields are left out.
 * messages is given separately (the chat composer's).
 */
export function buildBody(fields: FieldSpec[], values: Record<string, string | boolean>, messages?: ChatMessage[]): { body?: Record<string, unknown>; errors: Record<string, string> } {
  const body: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    if (f.kind === "messages") {
      if (messages && messages.length) body[f.name] = messages;
      else if (f.required) errors[f.name] = "Write a message";
      continue;
    }
    const v = values[f.name];
    if (f.kind === "boolean") {
      if (v !== undefined && v !== "") body[f.name] = v === true || v === "true";
      continue;
    }
    const s = typeof v === "string" ? v : "";
    if (s.trim() === "") {
      if (f.required) errors[f.name] = `${f.label} is required`;
      continue;
    }
    if (f.kind === "number" || f.kind === "integer") {
      const n = Number(s);
      if (!Number.isFinite(n)) errors[f.name] = `${f.label} must be a number`;
      else if (f.kind === "integer" && !Number.isInteger(n)) errors[f.name] = `${f.label} must be a whole number`;
      else if (f.min !== undefined && n < f.min) errors[f.name] = `${f.label} must be at least ${f.min}`;
      else if (f.max !== undefined && n > f.max) errors[f.name] = `${f.label} must be at most ${f.max}`;
      else body[f.name] = n;
    } else if (f.kind === "json") {
      try {
        body[f.name] = JSON.parse(s);
      } catch (e) {
        errors[f.name] = `${f.label} is not valid JSON: ${(e as Error).message}`;
      }
    } else body[f.name] = s;
  }
  return Object.keys(errors).length ? { errors } : { body, errors };
}
