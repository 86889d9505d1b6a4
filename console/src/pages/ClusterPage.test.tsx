import { screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { ClusterPage } from "./ClusterPage";

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("cluster page", () => {
  it("lists the nodes with their state", async () => {
    const now = new Date().toISOString();
    mockFetch(
      route("GET", "/api/cluster", () => ({
        body: {
          enabled: true,
          nodeId: "gw-a",
          redis: "up",
          pendingSpendUsd: 0,
          nodes: [
            { id: "gw-a", version: "1.2.0", configHash: "abcd", startedAt: now, lastSeen: now, up: true, self: true },
            { id: "gw-b", version: "1.2.0", configHash: "abcd", startedAt: now, lastSeen: now, up: false },
          ],
        },
      })),
    );
    renderPage(<ClusterPage />);
    const table = await screen.findByRole("table", { name: "Nodes" });
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(3);
    expect(within(rows[1]).getByText("(this node)")).toBeInTheDocument();
    expect(within(rows[1]).getByText("up")).toBeInTheDocument();
    expect(within(rows[2]).getByText("down")).toBeInTheDocument();
  });

  it("says when the gateway stands alone", async () => {
    mockFetch(route("GET", "/api/cluster", () => ({ body: { enabled: false, nodeId: "", redis: "", pendingSpendUsd: 0, nodes: [] } })));
    renderPage(<ClusterPage />);
    expect(await screen.findByText("This gateway stands alone")).toBeInTheDocument();
  });
});
