// Pipelines as YAML, in the config file's `pipelines:` format (the same JSON shape in YAML).
// Loaded only where YAML is shown or read: the yaml library is large.
import { parseDocument, stringify } from "yaml";
import { z } from "zod";
import { cleanData, edgeId, layout } from "./pipeline";
import { NODE_TYPES, type Pipeline } from "./types";

// YAML: a pipelines entry of the config file (the same JSON shape, in YAML).

/** The pipeline as the config file's `pipelines:` entry. */
export function toYAML(p: Pipeline): string {
  const entry: Record<string, unknown> = { id: p.id || undefined, name: p.name };
  if (p.description) entry.description = p.description;
  if (p.timeoutMs) entry.timeoutMs = p.timeoutMs;
  if (p.inputSchema !== undefined) entry.inputSchema = p.inputSchema;
  entry.nodes = p.nodes.map((n) => {
    const o: Record<string, unknown> = { id: n.id, type: n.type };
    if (n.position) o.position = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
    const d = cleanData(n.data as Record<string, unknown>);
    if (Object.keys(d).length) o.data = d;
    return o;
  });
  entry.edges = p.edges.map((e) => {
    const o: Record<string, unknown> = { source: e.source, target: e.target };
    if (e.sourceHandle) o.sourceHandle = e.sourceHandle;
    return o;
  });
  if (!entry.id) delete entry.id;
  return stringify({ pipelines: [entry] }, { lineWidth: 0, aliasDuplicateObjects: false });
}

const dataSchema = z
  .object({
    label: z.string(),
    model: z.string(),
    input: z.string(),
    tool: z.string(),
    arguments: z.string(),
    retries: z.number().int(),
    timeoutMs: z.number().int(),
    fallbacks: z.array(z.string()),
    plugin: z.string(),
    config: z.unknown(),
    expression: z.string(),
    strategy: z.string(),
    capability: z.string(),
    maxLatencyMs: z.number(),
    maxCostPerToken: z.number(),
    mode: z.string(),
    output: z.string(),
    onError: z.string(),
  })
  .partial()
  .strict();

const pipelineSchema = z
  .object({
    id: z.string().optional(),
    name: z.string({ message: "name is required" }).min(1, "name is required"),
    description: z.string().optional(),
    nodes: z
      .array(
        z
          .object({
            id: z.string().min(1, "a node needs an id"),
            type: z.enum(NODE_TYPES, { message: `type must be one of ${NODE_TYPES.join(", ")}` }),
            position: z.object({ x: z.number(), y: z.number() }).strict().optional(),
            data: dataSchema.optional(),
          })
          .strict(),
      )
      .min(1, "a pipeline needs nodes"),
    edges: z
      .array(
        z
          .object({
            id: z.string().optional(),
            source: z.string(),
            target: z.string(),
            sourceHandle: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    inputSchema: z.unknown().optional(),
    timeoutMs: z.number().int().nonnegative().optional(),
    managedBy: z.string().optional(),
    createdAt: z.string().optional(),
    updatedAt: z.string().optional(),
    problems: z.unknown().optional(),
  })
  .strict();

function issuePath(path: PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), "");
}

/**
 * Reads a pipeline from YAML (or JSON): a config file or fragment with `pipelines:` (the first
 * entry, or the one named by id), a list of pipelines, or one pipeline.
 */
export function fromYAML(text: string, pick?: string): { pipeline?: Pipeline; error?: string; ids?: string[] } {
  if (!text.trim()) return { error: "Paste a pipeline in YAML (or JSON) first." };
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    return { error: `Not valid YAML${pos ? ` (line ${pos.line}, column ${pos.col})` : ""}: ${e.message.split("\n")[0]}` };
  }
  let v: unknown = doc.toJS();
  if (v && typeof v === "object" && !Array.isArray(v) && "pipelines" in v) v = (v as { pipelines: unknown }).pipelines;
  let ids: string[] | undefined;
  if (Array.isArray(v)) {
    if (v.length === 0) return { error: "The list of pipelines is empty." };
    ids = v.map((x) => (x && typeof x === "object" && "id" in x ? String((x as { id: unknown }).id) : ""));
    v = (pick && v.find((x) => x && typeof x === "object" && (x as { id?: unknown }).id === pick)) || v[0];
  }
  if (!v || typeof v !== "object") return { error: "Expected a pipeline: an object with name, nodes and edges." };
  const r = pipelineSchema.safeParse(v);
  if (!r.success) {
    const first = r.error.issues.slice(0, 3).map((i) => {
      const path = issuePath(i.path);
      if (i.code === "unrecognized_keys") return `${path ? path + ": " : ""}unknown field${i.keys.length > 1 ? "s" : ""} ${i.keys.join(", ")}`;
      return `${path ? path + ": " : ""}${i.message}`;
    });
    return { error: `Not a pipeline: ${first.join("; ")}`, ids };
  }
  const p = r.data;
  const nodes = layout(
    p.nodes.map((n) => ({ id: n.id, type: n.type, position: n.position, data: cleanData(n.data as Record<string, unknown>) })),
    p.edges,
  );
  const seen = new Set<string>();
  const edges = p.edges.map((e, i) => {
    let id = e.id || edgeId(e.source, e.target, e.sourceHandle);
    if (seen.has(id)) id = `${id}-${i}`;
    seen.add(id);
    return { ...e, id };
  });
  const pipeline: Pipeline = { id: p.id ?? "", name: p.name, description: p.description, nodes, edges, inputSchema: p.inputSchema as Pipeline["inputSchema"], timeoutMs: p.timeoutMs };
  return { pipeline, ids };
}

