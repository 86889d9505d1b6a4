import { describe, expect, it } from "vitest";
import { layout, nodeId, toPipeline } from "./pipeline";
import { fromYAML, toYAML } from "./pipelineYaml";

describe("pipelines for the builder", () => {
  it("sends only the spec's fields (no React Flow runtime fields)", () => {
    const p = toPipeline(
      { id: "p", name: "P", description: " ", timeoutMs: 0 },
      [
        { id: "in", type: "input", position: { x: 1.4, y: 2.6 }, data: { label: "" }, width: 200, selected: true, measured: { width: 1 } } as never,
        { id: "m", type: "model", position: { x: 0, y: 0 }, data: { model: "gpt", retries: 2, fallbacks: [], stray: 1 } as never, dragging: false } as never,
      ],
      [{ id: "e1", source: "in", target: "m", sourceHandle: null, selected: true, animated: false } as never],
    );
    expect(p).toEqual({
      id: "p",
      name: "P",
      nodes: [
        { id: "in", type: "input", position: { x: 1, y: 3 }, data: {} },
        { id: "m", type: "model", position: { x: 0, y: 0 }, data: { model: "gpt", retries: 2 } },
      ],
      edges: [{ id: "e1", source: "in", target: "m" }],
    });
  });

  it("makes valid, unique node ids", () => {
    expect(nodeId("gpt-4o@openai:latest", [])).toBe("gpt-4o-openai-latest");
    expect(nodeId("writer", ["writer", "writer-2"])).toBe("writer-3");
    expect(nodeId("%%%", [])).toBe("step");
  });

  it("lays out nodes without positions by depth", () => {
    const nodes = layout(
      [
        { id: "in", type: "input", data: {} },
        { id: "a", type: "model", data: {} },
        { id: "b", type: "model", data: {} },
        { id: "out", type: "output", data: {} },
      ],
      [
        { source: "in", target: "a" },
        { source: "in", target: "b" },
        { source: "a", target: "out" },
        { source: "b", target: "out" },
      ],
    );
    const x = Object.fromEntries(nodes.map((n) => [n.id, n.position!.x]));
    expect(x.in).toBeLessThan(x.a);
    expect(x.a).toBe(x.b);
    expect(x.out).toBeGreaterThan(x.a);
    expect(nodes[1].position!.y).not.toBe(nodes[2].position!.y);
  });

  it("round-trips through the config file's YAML", () => {
    const p = toPipeline(
      { id: "draft-edit", name: "Draft then edit" },
      [
        { id: "in", type: "input", position: { x: 0, y: 0 }, data: {} },
        { id: "c", type: "condition", position: { x: 200, y: 0 }, data: { expression: "len(input.prompt) > 3" } },
        { id: "out", type: "output", position: { x: 400, y: 0 }, data: {} },
      ],
      [
        { id: "e1", source: "in", target: "c" },
        { id: "e2", source: "c", target: "out", sourceHandle: "true" },
      ],
    );
    const yaml = toYAML(p);
    expect(yaml).toMatch(/^pipelines:\n {2}- id: draft-edit\n/);
    const back = fromYAML(yaml);
    expect(back.error).toBeUndefined();
    expect(back.pipeline!.nodes).toEqual(p.nodes);
    expect(back.pipeline!.edges.map((e) => [e.source, e.target, e.sourceHandle])).toEqual([
      ["in", "c", undefined],
      ["c", "out", "true"],
    ]);
  });

  it("explains what is wrong with an imported pipeline", () => {
    expect(fromYAML("name: [").error).toMatch(/^Not valid YAML/);
    expect(fromYAML("pipelines: []").error).toBe("The list of pipelines is empty.");
    expect(fromYAML("name: X\nnodes:\n  - {id: a, type: modle}\n").error).toMatch(/nodes\[0\]\.type: type must be one of/);
    expect(fromYAML("name: X\nnodes:\n  - {id: a, type: model, data: {modell: x}}\n").error).toMatch(/nodes\[0\]\.data: unknown field modell/);
  });

  it("reads a config fragment and lays out nodes without positions", () => {
    const r = fromYAML(`pipelines:
  - id: a
    name: A
    nodes:
      - {id: in, type: input}
      - {id: out, type: output}
    edges:
      - {source: in, target: out}
`);
    expect(r.pipeline!.id).toBe("a");
    expect(r.pipeline!.nodes.every((n) => n.position)).toBe(true);
    expect(r.pipeline!.edges[0].id).toBe("e-in-out");
  });
  it("keeps a tool step's fields through YAML", () => {
    const p = toPipeline(
      { id: "research", name: "Research" },
      [
        { id: "in", type: "input", position: { x: 0, y: 0 }, data: {} },
        { id: "find", type: "tool", position: { x: 200, y: 0 }, data: { tool: "search__web_search", arguments: '{"q": input.topic}', timeoutMs: 5000, model: "" } },
        { id: "out", type: "output", position: { x: 400, y: 0 }, data: {} },
      ],
      [
        { id: "e1", source: "in", target: "find" },
        { id: "e2", source: "find", target: "out" },
      ],
    );
    expect(p.nodes[1].data).toEqual({ tool: "search__web_search", arguments: '{"q": input.topic}', timeoutMs: 5000 });
    const yaml = toYAML(p);
    expect(yaml).toContain("type: tool");
    expect(yaml).toContain("tool: search__web_search");
    const back = fromYAML(yaml);
    expect(back.error).toBeUndefined();
    expect(back.pipeline?.nodes[1]).toMatchObject({ id: "find", type: "tool", data: { tool: "search__web_search", arguments: '{"q": input.topic}', timeoutMs: 5000 } });
    expect(fromYAML("nodes: [{id: t, type: tool, data: {tools: x}}]\nname: P").error).toContain("unknown field tools");
  });
});
