// A test form for an MCP tool, from its input schema: one field per top-level property
// (strings, numbers, booleans and enums as inputs; anything else as JSON), and the arguments
// the filled form stands for.

export type FieldKind = "string" | "number" | "integer" | "boolean" | "enum" | "json";

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: string[];
  /** The form's starting value: the schema's default, as the field shows it. */
  initial: string | boolean;
}

type Schema = { type?: unknown; properties?: Record<string, Schema>; required?: unknown; description?: unknown; enum?: unknown; default?: unknown };

function kindOf(s: Schema): FieldKind {
  if (Array.isArray(s.enum) && s.enum.every((v) => typeof v === "string")) return "enum";
  switch (s.type) {
    case "string":
    case "number":
    case "integer":
    case "boolean":
      return s.type;
  }
  return "json";
}

/** The fields of a tool's input schema, required ones first, each group in the schema's order. */
export function fieldsOf(schema: unknown): FieldSpec[] {
  const s = (schema ?? {}) as Schema;
  const required = new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === "string") : []);
  const fields = Object.entries(s.properties ?? {}).map(([name, prop]): FieldSpec => {
    const p = prop ?? {};
    const kind = kindOf(p);
    let initial: string | boolean = kind === "boolean" ? false : "";
    if (p.default !== undefined) {
      initial = kind === "boolean" ? p.default === true : kind === "json" ? JSON.stringify(p.default) : String(p.default);
    }
    return {
      name,
      kind,
      required: required.has(name),
      description: typeof p.description === "string" ? p.description : undefined,
      options: kind === "enum" ? (p.enum as string[]) : undefined,
      initial,
    };
  });
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

/** The arguments the form's values stand for; a field left empty is left out. */
export function argumentsOf(fields: FieldSpec[], values: Record<string, string | boolean>): { args: Record<string, unknown>; errors: Record<string, string> } {
  const args: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const v = values[f.name] ?? f.initial;
    if (f.kind === "boolean") {
      if (v === true || f.required) args[f.name] = v === true;
      continue;
    }
    const text = String(v).trim();
    if (text === "") {
      if (f.required) errors[f.name] = "required";
      continue;
    }
    switch (f.kind) {
      case "number":
      case "integer": {
        const n = Number(text);
        if (!Number.isFinite(n) || (f.kind === "integer" && !Number.isInteger(n))) errors[f.name] = f.kind === "integer" ? "must be a whole number" : "must be a number";
        else args[f.name] = n;
        break;
      }
      case "json":
        try {
          args[f.name] = JSON.parse(text);
        } catch {
          errors[f.name] = "must be JSON";
        }
        break;
      default:
        args[f.name] = String(v);
    }
  }
  return { args, errors };
}
