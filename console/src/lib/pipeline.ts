// Pipelines between the API's shape and the builder's: nodes and edges are React Flow's shape,
// but the gateway's decoder is strict, so only the spec's fields are sent. Also YAML import and
// export in the config file's `pipelines:` format.
import { parseDocument, stringify } from "yaml";
import { z } from "zod";
import { NODE_TYPES, type NodeData, type Pipeline, type PipelineEdge, type PipelineNode } from "./types";

const DATA_KEYS: (keyof NodeData)[] = [
  "label",
  "model",
  "input",
  "retries",
  "timeoutMs",
  "fallbacks",
  "plugin",
  "config",
  "expression",
  "strategy",
  "capability",
  "maxLatencyMs",
  "maxCostPerToken",
  "mode",
  "output",
  "onError",
];

/** Only the spec's data fields, without empty ones. */
export function cleanData(d: Record<string, unknown> | undefined): NodeData {
  const out: Record<string, unknown> = {};
  if (!d) return out;
  for (const k of DATA_KEYS) {
    const v = d[k];
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === "number" && Number.isNaN(v)) continue;
    out[k] = v;
  }
  return out as NodeData;
}

export interface FlowLikeNode {
  id: string;
  type?: string;
  position: { x: number; y: number };
  data: Record<string, unknown>;
}
export interface FlowLikeEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
}

export interface PipelineMeta {
  id: string;
  name: string;
  description?: string;
  timeoutMs?: number;
  inputSchema?: unknown;
}

/** The pipeline to send: the builder's nodes and edges stripped of React Flow's runtime fields. */
export function toPipeline(meta: PipelineMeta, nodes: FlowLikeNode[], edges: FlowLikeEdge[]): Pipeline {
  const p: Pipeline = {
    id: meta.id,
    name: meta.name,
    nodes: nodes.map((n) => ({
      id: n.id,
      type: n.type ?? "model",
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
      data: cleanData(n.data),
    })),
    edges: edges.map((e) => {
      const out: PipelineEdge = { id: e.id, source: e.source, target: e.target };
      if (e.sourceHandle) out.sourceHandle = e.sourceHandle;
      return out;
    }),
  };
  if (meta.description?.trim()) p.description = meta.description.trim();
  if (meta.timeoutMs) p.timeoutMs = meta.timeoutMs;
  if (meta.inputSchema !== undefined && meta.inputSchema !== null) p.inputSchema = meta.inputSchema as Pipeline["inputSchema"];
  return p;
}

/** Places nodes that have no position: in columns by their depth from the input. */
export function layout(nodes: PipelineNode[], edges: PipelineEdge[]): PipelineNode[] {
  if (nodes.every((n) => n.position)) return nodes;
  const depth = new Map<string, number>();
  const incoming = new Map<string, number>();
  nodes.forEach((n) => incoming.set(n.id, 0));
  edges.forEach((e) => incoming.set(e.target, (incoming.get(e.target) ?? 0) + 1));
  const queue = nodes.filter((n) => !incoming.get(n.id)).map((n) => n.id);
  queue.forEach((id) => depth.set(id, 0));
  const remaining = new Map(incoming);
  while (queue.length) {
    const id = queue.shift()!;
    for (const e of edges.filter((x) => x.source === id)) {
      depth.set(e.target, Math.max(depth.get(e.target) ?? 0, (depth.get(id) ?? 0) + 1));
      remaining.set(e.target, (remaining.get(e.target) ?? 1) - 1);
      if (remaining.get(e.target) === 0) queue.push(e.target);
    }
  }
  const rows = new Map<number, number>();
  return nodes.map((n) => {
    if (n.position) return n;
    const d = depth.get(n.id) ?? 0;
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    return { ...n, position: { x: 40 + d * 260, y: 60 + row * 130 } };
  });
}

const ID_OK = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

/** A node id (1-64 letters, digits or ._-) from a hint such as a model id, unique among taken. */
export function nodeId(hint: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  let base = hint
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 56);
  if (!base || !ID_OK.test(base)) base = "step";
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) {
    const id = `${base}-${i}`;
    if (!used.has(id)) return id;
  }
}

/** A new pipeline: an input and an output, ready for steps in between. */
export function blankPipeline(): Pipeline {
  return {
    id: "",
    name: "",
    nodes: [
      { id: "in", type: "input", position: { x: 40, y: 160 }, data: { label: "Input" } },
      { id: "out", type: "output", position: { x: 820, y: 160 }, data: { label: "Output" } },
    ],
    edges: [],
  };
}

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

export function edgeId(source: string, target: string, handle?: string | null): string {
  return `e-${source}${handle ? `.${handle}` : ""}-${target}`;
}
