import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import type { AnalyticsReport } from "@/lib/types";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import AnalyticsPage, { pivot } from "./AnalyticsPage";

const lat = { mean: 10, p50: 8, p95: 20, p99: 30 };
const point = (t: string, requests: number, errors = 0) => ({ t, requests, errors, inputTokens: requests * 5, outputTokens: requests * 6, costUsd: requests * 0.001, latencyMs: lat });
const report: AnalyticsReport = {
  from: "2026-01-01T00:00:00Z",
  to: "2026-01-01T01:00:00Z",
  step: "1m",
  group: "model",
  series: [
    { key: "writer", points: [point("2026-01-01T00:10:00Z", 3), point("2026-01-01T00:11:00Z", 1, 1)] },
    { key: "editor", points: [point("2026-01-01T00:11:00Z", 2)] },
  ],
  totals: [
    { key: "writer", requests: 4, errors: 1, inputTokens: 20, outputTokens: 24, costUsd: 0.004, latencyMs: lat },
    { key: "editor", requests: 2, errors: 0, inputTokens: 10, outputTokens: 12, costUsd: 0.002, latencyMs: lat },
  ],
  overall: { key: "all", requests: 6, errors: 1, inputTokens: 30, outputTokens: 36, costUsd: 0.006, latencyMs: lat },
  source: "local",
};

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("analytics", () => {
  it("pivots series into one row per time", () => {
    const rows = pivot(report, (p) => p.requests, ["writer", "editor"]);
    expect(rows).toEqual([
      { t: Date.parse("2026-01-01T00:10:00Z"), writer: 3, editor: 0, other: 0 },
      { t: Date.parse("2026-01-01T00:11:00Z"), writer: 1, editor: 2, other: 0 },
    ]);
    expect(pivot(report, (p) => p.requests, ["writer"])[1]).toMatchObject({ writer: 1, other: 2 });
  });

  it("shows totals and the table per model", async () => {
    const { calls } = mockFetch(route("GET", "/api/analytics", () => ({ body: report })));
    renderPage(<AnalyticsPage />);
    expect(await screen.findByTestId("stat-Requests")).toHaveTextContent("6");
    expect(screen.getByTestId("stat-Errors")).toHaveTextContent("1");
    expect(screen.getByRole("table", { name: "Totals by model" })).toHaveTextContent("writer");
    expect(calls[0].url.searchParams.get("range")).toBe("1h");
    expect(calls[0].url.searchParams.get("group")).toBe("model");
  });

  it("counts errors on whole-number ticks", async () => {
    const totals = ["a", "b", "c"].map((key) => ({ ...report.totals[0], key, errors: 1 }));
    mockFetch(route("GET", "/api/analytics", () => ({ body: { ...report, totals } })));
    renderPage(<AnalyticsPage />);
    const card = (await screen.findByRole("heading", { name: "Top models by errors" })).closest(".rounded-lg") as HTMLElement;
    const tickSel = ".recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value";
    await waitFor(() => expect(card.querySelectorAll(tickSel).length).toBeGreaterThan(0));
    const ticks = [...card.querySelectorAll(tickSel)].map((t) => t.textContent);
    // Not "0 0 1 1 1": a count has no quarter steps.
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const t of ticks) expect(t).toMatch(/^\d+$/);
    expect(ticks.at(-1)).toBe("1"); // the axis ends at the largest count, not past it
  });

  it("says whose numbers they are", async () => {
    mockFetch(route("GET", "/api/analytics", () => ({ body: { ...report, source: "victoriaMetrics" } })));
    renderPage(<AnalyticsPage />);
    expect(await screen.findByTestId("analytics-source")).toHaveTextContent("Whole cluster");
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
  });

  it("says when the cluster's numbers are missing", async () => {
    mockFetch(route("GET", "/api/analytics", () => ({ body: { ...report, source: "local", sourceError: "VictoriaMetrics is unreachable; these are this node's numbers only" } })));
    renderPage(<AnalyticsPage />);
    expect(await screen.findByTestId("analytics-source")).toHaveTextContent("This node");
    expect(screen.getByRole("status")).toHaveTextContent("VictoriaMetrics is unreachable");
  });

  it("says when there is no traffic", async () => {
    mockFetch(route("GET", "/api/analytics", () => ({ body: { ...report, series: [], totals: [], overall: { ...report.overall, requests: 0 } } })));
    renderPage(<AnalyticsPage />);
    expect(await screen.findByText("No traffic in this range")).toBeInTheDocument();
  });
});
