import { screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { ExecutionDetailPage } from "./ExecutionDetailPage";
import { traceHref } from "./trace";

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

const invocation = {
  id: "i1",
  kind: "invocation",
  time: new Date().toISOString(),
  op: "chat",
  model: "writer",
  status: "ok",
  httpStatus: 200,
  latencyMs: 12,
  upstreamLatencyMs: 10,
  inputTokens: 1,
  outputTokens: 2,
  costUsd: 0,
  traceId,
};

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("traceHref", () => {
  it("puts the id in the template", () => {
    expect(traceHref("http://127.0.0.1:16686/trace/{traceId}", traceId)).toBe(`http://127.0.0.1:16686/trace/${traceId}`);
    expect(traceHref("https://t.example/{traceId}?from={traceId}", traceId)).toBe(`https://t.example/${traceId}?from=${traceId}`);
  });

  it("makes no link without a template or a proper id", () => {
    expect(traceHref(undefined, traceId)).toBeUndefined();
    expect(traceHref("http://t/{traceId}", undefined)).toBeUndefined();
    expect(traceHref("http://t/{traceId}", "javascript:alert(1)")).toBeUndefined();
  });
});

describe("an execution's trace id", () => {
  it("links to the trace viewer when the gateway has a traceUrl", async () => {
    mockFetch(
      route("GET", "/api/executions/i1", () => ({ body: invocation })),
      route("GET", "/api/status", () => ({ body: { version: "t", traceUrl: "http://127.0.0.1:16686/trace/{traceId}" } })),
    );
    renderPage(<ExecutionDetailPage />, { id: "i1" });
    const link = await within(await screen.findByTestId("trace-id")).findByRole("link");
    expect(link).toHaveAttribute("href", `http://127.0.0.1:16686/trace/${traceId}`);
    expect(link).toHaveTextContent(traceId);
  });

  it("shows the id without a link when it has none", async () => {
    mockFetch(route("GET", "/api/executions/i1", () => ({ body: invocation })), route("GET", "/api/status", () => ({ body: { version: "t" } })));
    renderPage(<ExecutionDetailPage />, { id: "i1" });
    const shown = await screen.findByTestId("trace-id");
    expect(shown).toHaveTextContent(traceId);
    expect(within(shown).queryByRole("link")).toBeNull();
  });
});
