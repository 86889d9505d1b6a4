// Pipelines between the API's shape and the builder's: nodes and edges are React Flow's shape,
// but the gateway's decoder is strict, so only the spec's fields are sent.
import type { NodeData, Pipeline, PipelineEdge, PipelineNode } from "./types";

const DATA_KEYS: (keyof NodeData)[] = [
  "label",
  "model",
  "input",
  "tool",
  "arguments",
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

/**
 * A new pipeline: an input and an output, ready for steps in between; close enough together to
 * open side by side at a readable zoom on a laptop's screen.
 */
export function blankPipeline(): Pipeline {
  return {
    id: "",
    name: "",
    nodes: [
      { id: "in", type: "input", position: { x: 40, y: 160 }, data: { label: "Input" } },
      { id: "out", type: "output", position: { x: 560, y: 160 }, data: { label: "Output" } },
    ],
    edges: [],
  };
}

export function edgeId(source: string, target: string, handle?: string | null): string {
  return `e-${source}${handle ? `.${handle}` : ""}-${target}`;
}
