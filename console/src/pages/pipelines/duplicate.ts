// "Duplicate": a copy of a pipeline saved as a new stored pipeline, which the builder can edit
// (config-defined pipelines are read-only there).
import { api, ApiError } from "@/lib/api";
import type { Pipeline } from "@/lib/types";

// The gateway's pipeline ids are at most 128 characters.
const MAX_ID = 128;

/** id with a "-copy" suffix, then "-copy-2", "-copy-3"…: the first not taken. */
export function copyId(id: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let i = 1; ; i++) {
    const suffix = i === 1 ? "-copy" : `-copy-${i}`;
    const candidate = id.slice(0, MAX_ID - suffix.length) + suffix;
    if (!used.has(candidate)) return candidate;
  }
}

/** The copy to create: p's spec under a new id and name, without what the gateway manages. */
export function copyOf(p: Pipeline, taken: Iterable<string>): Pipeline {
  const out: Pipeline = { id: copyId(p.id, taken), name: `${p.name || p.id} (copy)`, nodes: p.nodes, edges: p.edges };
  if (p.description) out.description = p.description;
  if (p.inputSchema !== undefined) out.inputSchema = p.inputSchema;
  if (p.chatInput) out.chatInput = p.chatInput;
  if (p.timeoutMs) out.timeoutMs = p.timeoutMs;
  return out;
}

/** Saves a copy of p (POST /api/pipelines) and returns it; an id taken meanwhile is skipped. */
export async function duplicatePipeline(p: Pipeline): Promise<Pipeline> {
  const taken = new Set((await api.listPipelines()).data.map((x) => x.id));
  for (let tries = 0; ; tries++) {
    const copy = copyOf(p, taken);
    try {
      return await api.createPipeline(copy);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409) || tries >= 3) throw e;
      taken.add(copy.id);
    }
  }
}
