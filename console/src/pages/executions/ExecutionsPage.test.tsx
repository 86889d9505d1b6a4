import { screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { ExecutionsPage } from "./ExecutionsPage";

const run = (id: string, node?: string) => ({
  id,
  kind: "pipeline",
  time: "2026-01-01T00:10:00Z",
  pipeline: "relay",
  model: "pipeline:relay",
  status: "ok",
  latencyMs: 12,
  inputTokens: 3,
  outputTokens: 4,
  costUsd: 0,
  steps: [],
  ...(node ? { node } : {}),
});

function serve(page: unknown) {
  mockFetch(
    route("GET", "/api/executions", () => ({ body: page })),
    route("GET", "/api/pipelines", () => ({ body: { data: [], total: 0 } })),
    route("GET", "/api/models", () => ({ body: { data: [], total: 0, statsSource: "local" } })),
  );
}

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("executions", () => {
  it("names each run's node in a cluster", async () => {
    serve({ data: [run("aa01", "gw-a"), run("bb02", "gw-b")], next: "" });
    renderPage(<ExecutionsPage />);
    const table = await screen.findByRole("table", { name: "Executions" });
    expect(within(table).getByRole("columnheader", { name: "Node" })).toBeInTheDocument();
    expect(within(screen.getByTestId("execution-bb02")).getByText("gw-b")).toBeInTheDocument();
  });

  it("has no node column for a lone gateway", async () => {
    serve({ data: [run("aa01")], next: "" });
    renderPage(<ExecutionsPage />);
    const table = await screen.findByRole("table", { name: "Executions" });
    expect(within(table).queryByRole("columnheader", { name: "Node" })).not.toBeInTheDocument();
  });

  it("says when the other nodes' runs are missing", async () => {
    serve({ data: [run("aa01", "gw-a")], next: "", clusterError: "the other nodes' executions are missing: redis: unreachable" });
    renderPage(<ExecutionsPage />);
    expect(await screen.findByText(/other nodes' executions are missing/)).toBeInTheDocument();
  });
});
