import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import type { Pipeline } from "@/lib/types";
import { mockFetch, route } from "@/test/fetch";
import { copyId, copyOf, duplicatePipeline } from "./duplicate";

const seed: Pipeline = {
  id: "content-generation",
  name: "Content Generation",
  description: "Draft, polish, check",
  managedBy: "config",
  createdAt: "2026-01-01T00:00:00Z",
  problems: [],
  inputSchema: { type: "object" },
  nodes: [
    { id: "in", type: "input", position: { x: 0, y: 0 }, data: {} },
    { id: "out", type: "output", position: { x: 240, y: 0 }, data: {} },
  ],
  edges: [{ source: "in", target: "out" }],
};

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("duplicate", () => {
  it("suffixes the id with -copy, numbered when taken", () => {
    expect(copyId("p", [])).toBe("p-copy");
    expect(copyId("p", ["p-copy"])).toBe("p-copy-2");
    expect(copyId("p", ["p-copy", "p-copy-2"])).toBe("p-copy-3");
    expect(copyId("x".repeat(128), [])).toHaveLength(128);
  });

  it("copies the spec, not what the gateway manages", () => {
    expect(copyOf(seed, [])).toEqual({
      id: "content-generation-copy",
      name: "Content Generation (copy)",
      description: "Draft, polish, check",
      inputSchema: { type: "object" },
      nodes: seed.nodes,
      edges: seed.edges,
    });
  });

  it("saves the copy as a new pipeline under an id nobody has", async () => {
    const { calls } = mockFetch(
      route("GET", "/api/pipelines", () => ({ body: { data: [seed, { ...seed, id: "content-generation-copy", managedBy: "api" }] } })),
      route("POST", "/api/pipelines", (r) => ((r.body as Pipeline).id === "content-generation-copy-2" ? { status: 409, body: { error: { message: "taken", type: "conflict" } } } : { status: 201, body: { ...(r.body as object), managedBy: "api" } })),
    );
    const copy = await duplicatePipeline(seed);
    const posted = calls.filter((c) => c.method === "POST").map((c) => (c.body as Pipeline).id);
    // -copy is listed; -copy-2 was taken between the list and the save.
    expect(posted).toEqual(["content-generation-copy-2", "content-generation-copy-3"]);
    expect(copy).toMatchObject({ id: "content-generation-copy-3", name: "Content Generation (copy)", managedBy: "api" });
  });
});
