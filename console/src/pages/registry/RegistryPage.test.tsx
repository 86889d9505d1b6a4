import { screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { RegistryPage } from "./RegistryPage";

const model = { id: "m", name: "M", modelType: "llm", securityPolicy: "public", status: "available", hasApiKey: false, stats: { requests: 5, errors: 0, successRate: 1, latencyMs: 10, p50Ms: 8, p95Ms: 20 } };

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("registry", () => {
  it("says the live numbers are the whole cluster's", async () => {
    mockFetch(route("GET", "/api/models", () => ({ body: { data: [model], total: 1, statsSource: "victoriaMetrics" } })));
    renderPage(<RegistryPage />);
    expect(await screen.findByTestId("stats-source")).toHaveTextContent("the whole cluster");
  });

  it("says the live numbers are this node's", async () => {
    mockFetch(route("GET", "/api/models", () => ({ body: { data: [model], total: 1, statsSource: "local" } })));
    renderPage(<RegistryPage />);
    expect(await screen.findByTestId("stats-source")).toHaveTextContent("this node");
  });
});
