import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import BuilderPage from "./BuilderPage";

const pipeline = {
  id: "draft-edit",
  name: "Draft then edit",
  managedBy: "api",
  nodes: [
    { id: "in", type: "input", position: { x: 0, y: 0 }, data: {} },
    { id: "draft", type: "model", position: { x: 250, y: 0 }, data: { model: "gpt-9" } },
    { id: "out", type: "output", position: { x: 500, y: 0 }, data: {} },
  ],
  edges: [
    { id: "e1", source: "in", target: "draft" },
    { id: "e2", source: "draft", target: "out" },
  ],
};

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("pipeline builder", () => {
  it("loads a pipeline, validates it and marks the failing node", async () => {
    const { calls } = mockFetch(
      route("GET", "/api/models", () => ({ body: { data: [{ id: "writer", name: "Writer", modelType: "llm", securityPolicy: "public", status: "available", hasApiKey: false }], total: 1 } })),
      route("GET", "/api/plugins", () => ({ body: { data: [] } })),
      route("GET", "/api/pipelines/draft-edit", () => ({ body: pipeline })),
      route("POST", "/api/pipelines/validate", () => ({ body: { valid: false, errors: [{ node: "draft", field: "data.model", message: 'unknown model "gpt-9"' }] } })),
    );
    renderPage(<BuilderPage />, { id: "draft-edit" });
    expect(await screen.findByRole("heading", { name: "Draft then edit" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("node-draft")).toHaveAttribute("data-errors", "1"), { timeout: 3000 });
    expect(screen.getByText("1 problem")).toBeInTheDocument();
    expect(screen.getByTestId("palette-model-writer")).toBeInTheDocument();
    const sent = calls.find((c) => c.url.pathname === "/api/pipelines/validate")!.body as { nodes: Record<string, unknown>[]; edges: unknown[] };
    // Only the spec's fields reach the strict decoder.
    for (const n of sent.nodes) expect(Object.keys(n).sort()).toEqual(["data", "id", "position", "type"]);
    expect(sent.edges).toEqual([
      { id: "e1", source: "in", target: "draft" },
      { id: "e2", source: "draft", target: "out" },
    ]);
  });

  it("adds a model from the palette with the keyboard, and saves", async () => {
    const saved: unknown[] = [];
    mockFetch(
      route("GET", "/api/models", () => ({ body: { data: [{ id: "writer", name: "Writer", modelType: "llm", securityPolicy: "public", status: "available", hasApiKey: false }], total: 1 } })),
      route("GET", "/api/plugins", () => ({ body: { data: [] } })),
      route("GET", "/api/pipelines/draft-edit", () => ({ body: pipeline })),
      route("POST", "/api/pipelines/validate", () => ({ body: { valid: true, errors: [] } })),
      route("PUT", "/api/pipelines/draft-edit", (r) => {
        saved.push(r.body);
        return { body: { ...(r.body as object), managedBy: "api" } };
      }),
    );
    renderPage(<BuilderPage />, { id: "draft-edit" });
    const user = userEvent.setup();
    const item = await screen.findByTestId("palette-model-writer");
    item.focus();
    await user.keyboard("{Enter}");
    expect(await screen.findByTestId("node-writer")).toBeInTheDocument();
    expect(screen.getByText("unsaved")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(saved).toHaveLength(1));
    const body = saved[0] as { nodes: { id: string; data: unknown }[] };
    expect(body.nodes.find((n) => n.id === "writer")?.data).toEqual({ model: "writer" });
  });

  it("opens a config pipeline read-only, prefills its test input, and duplicates it as an editable copy", async () => {
    const seed = {
      ...pipeline,
      id: "content-generation",
      name: "Content Generation",
      managedBy: "config",
      inputSchema: { type: "object", properties: { topic: { type: "string", minLength: 3 }, audience: { type: "string" } }, required: ["topic"] },
    };
    const { calls } = mockFetch(
      route("GET", "/api/models", () => ({ body: { data: [], total: 0 } })),
      route("GET", "/api/plugins", () => ({ body: { data: [] } })),
      route("GET", "/api/pipelines/content-generation", () => ({ body: seed })),
      route("GET", "/api/pipelines", () => ({ body: { data: [seed, { ...seed, id: "content-generation-copy", managedBy: "api" }] } })),
      route("POST", "/api/pipelines/validate", () => ({ body: { valid: true, errors: [] } })),
      route("POST", "/api/pipelines", (r) => ({ status: 201, body: { ...(r.body as object), managedBy: "api" } })),
    );
    renderPage(<BuilderPage />, { id: "content-generation" });
    const user = userEvent.setup();
    expect(await screen.findByText("config · read-only")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Save" })).toBeNull();

    await user.click(screen.getByRole("tab", { name: "Test run" }));
    expect(JSON.parse((screen.getByLabelText("Input") as HTMLTextAreaElement).value)).toEqual({ topic: "example" });

    await user.click(screen.getByRole("button", { name: "Duplicate" }));
    await waitFor(() => expect(window.location.pathname).toBe("/pipelines/content-generation-copy-2"));
    const posted = calls.find((c) => c.method === "POST" && c.url.pathname === "/api/pipelines")!.body as Record<string, unknown>;
    expect(posted).toMatchObject({ id: "content-generation-copy-2", name: "Content Generation (copy)", inputSchema: seed.inputSchema });
    expect(posted.managedBy).toBeUndefined();
    expect((posted.nodes as unknown[]).length).toBe(3);
  });
  it("adds an MCP tool from the palette, sets its arguments, and saves a tool step", async () => {
    const saved: unknown[] = [];
    const tool = { id: "search__web_search", name: "web_search", description: "Searches the web", modelType: "tool", managedBy: "mcp", securityPolicy: "public", status: "available", hasApiKey: false };
    mockFetch(
      route("GET", "/api/models", () => ({ body: { data: [{ id: "writer", name: "Writer", modelType: "llm", securityPolicy: "public", status: "available", hasApiKey: false }, tool], total: 2 } })),
      route("GET", "/api/plugins", () => ({ body: { data: [] } })),
      route("GET", "/api/pipelines/draft-edit", () => ({ body: pipeline })),
      route("POST", "/api/pipelines/validate", () => ({ body: { valid: true, errors: [] } })),
      route("PUT", "/api/pipelines/draft-edit", (r) => {
        saved.push(r.body);
        return { body: { ...(r.body as object), managedBy: "api" } };
      }),
    );
    renderPage(<BuilderPage />, { id: "draft-edit" });
    const user = userEvent.setup();
    const item = await screen.findByTestId("palette-tool-search__web_search");
    // A tool is listed as a tool, never as a model to call.
    expect(screen.queryByTestId("palette-model-search__web_search")).toBeNull();
    item.focus();
    await user.keyboard("{Enter}");
    expect(await screen.findByTestId("node-web_search")).toHaveTextContent("tool search__web_search");
    expect(screen.getByText("Searches the web")).toBeInTheDocument();
    await user.click(screen.getByLabelText("Arguments"));
    await user.paste('{"q": input.topic}');
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(saved).toHaveLength(1));
    const body = saved[0] as { nodes: { id: string; type: string; data: unknown }[] };
    const node = body.nodes.find((n) => n.id === "web_search");
    expect(node?.type).toBe("tool");
    expect(node?.data).toEqual({ tool: "search__web_search", arguments: '{"q": input.topic}' });
  });
});
