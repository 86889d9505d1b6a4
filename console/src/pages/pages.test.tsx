import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { getToken, setToken } from "@/lib/api";
import type { ModelView } from "@/lib/types";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { ExecutionDetailPage } from "./executions/ExecutionDetailPage";
import { Login } from "./Login";
import { RegistryPage } from "./registry/RegistryPage";
import { ApiReferencePage } from "./ApiReferencePage";

const models: ModelView[] = [
  { id: "gpt-4-turbo", name: "GPT-4 Turbo", modelType: "llm", securityPolicy: "public", hasApiKey: false, status: "unavailable", managedBy: "config", costPerToken: 0.00003, tags: ["openai"], owner: "OpenAI" },
  {
    id: "local",
    name: "Local Llama",
    modelType: "llm",
    securityPolicy: "private",
    hasApiKey: true,
    status: "available",
    managedBy: "api",
    stats: { requests: 10, errors: 1, successRate: 0.9, latencyMs: 40, p50Ms: 35, p95Ms: 80, lastError: "upstream timed out", lastErrorAt: new Date().toISOString() },
  },
];

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("sign in", () => {
  it("keeps a token the gateway accepts", async () => {
    sessionStorage.clear();
    const { calls } = mockFetch(route("GET", "/api/status", (r) => (r.headers.Authorization === "Bearer right" ? { body: { version: "t" } } : { status: 401, body: { error: { message: "wrong admin token", type: "authentication_error" } } })));
    renderPage(<Login />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Admin token"), "nope");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("wrong admin token")).toBeInTheDocument();
    expect(getToken()).toBeNull();
    await user.clear(screen.getByLabelText("Admin token"));
    await user.type(screen.getByLabelText("Admin token"), "right");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(getToken()).toBe("right"));
    expect(calls).toHaveLength(2);
  });
});

describe("registry", () => {
  it("shows each model's status, stats and policy; config models are read-only", async () => {
    mockFetch(route("GET", "/api/models", () => ({ body: { data: models, total: 2 } })));
    renderPage(<RegistryPage />);
    const local = await screen.findByTestId("model-local");
    expect(within(local).getByText("available")).toBeInTheDocument();
    expect(within(local).getByText("35 ms / 80 ms")).toBeInTheDocument();
    expect(within(local).getByText(/upstream timed out/)).toBeInTheDocument();
    expect(within(local).getByRole("button", { name: "Delete Local Llama" })).toBeInTheDocument();
    const gpt = screen.getByTestId("model-gpt-4-turbo");
    expect(within(gpt).getByText("unavailable")).toBeInTheDocument();
    expect(within(gpt).getByText("$30/1M")).toBeInTheDocument();
    expect(within(gpt).queryByRole("button", { name: /Delete/ })).toBeNull();
    expect(within(gpt).getByRole("button", { name: "View GPT-4 Turbo" })).toBeInTheDocument();
  });

  it("searches on the server", async () => {
    const { calls } = mockFetch(route("GET", "/api/models", (r) => ({ body: { data: r.url.searchParams.get("q") ? [] : models, total: 0 } })));
    renderPage(<RegistryPage />);
    await screen.findByTestId("model-local");
    await userEvent.setup().type(screen.getByLabelText("Search models"), "zzz");
    expect(await screen.findByText("No model matches these filters")).toBeInTheDocument();
    expect(calls.some((c) => c.url.searchParams.get("q") === "zzz")).toBe(true);
  });

  it("shows the API's error under the field it names", async () => {
    mockFetch(
      route("GET", "/api/models", () => ({ body: { data: [], total: 0 } })),
      route("POST", "/api/models", () => ({ status: 400, body: { error: { message: 'provider: unknown provider "opnai"', type: "invalid_request_error", param: "provider" } } })),
    );
    renderPage(<RegistryPage />);
    const user = userEvent.setup();
    await user.click((await screen.findAllByRole("button", { name: "Register model" }))[0]);
    const dlg = await screen.findByRole("dialog");
    await user.type(within(dlg).getByRole("textbox", { name: "Name" }), "Llama");
    await user.type(within(dlg).getByLabelText("Endpoint"), "http://localhost:8000/v1");
    await user.type(within(dlg).getByLabelText("Provider"), "opnai");
    await user.click(within(dlg).getByRole("button", { name: "Register model" }));
    expect(await within(dlg).findAllByText('provider: unknown provider "opnai"')).toHaveLength(2);
  });

  it("registers for the default org by default, and allows private models' keys by id", async () => {
    const keys = [
      { id: "config:app", name: "app", org: "acme", prefix: "iom-aaaa", managedBy: "config" },
      { id: "key_0123456789abcdef", name: "app", org: "globex", prefix: "iom-bbbb", managedBy: "api" },
    ];
    const withEndpoint = models.map((m) => (m.id === "local" ? { ...m, endpoint: "http://localhost:11434/v1" } : m));
    const { calls } = mockFetch(
      route("GET", "/api/models", () => ({ body: { data: withEndpoint, total: 2 } })),
      route("GET", "/api/keys", () => ({ body: { data: keys } })),
      route("POST", "/api/models", (r) => ({ status: 201, body: { ...(r.body as object), id: "llama", hasApiKey: false, status: "available" } })),
      route("PUT", "/api/models/local", (r) => ({ body: { ...(r.body as object), hasApiKey: true, status: "available" } })),
    );
    renderPage(<RegistryPage />);
    const user = userEvent.setup();
    await user.click((await screen.findAllByRole("button", { name: "Register model" }))[0]);
    let dlg = await screen.findByRole("dialog");
    expect(within(dlg).getByLabelText("Security policy")).toHaveTextContent("Organization: keys of its org");
    expect(within(dlg).getByLabelText("Organization")).toHaveAttribute("placeholder", "default");
    await user.type(within(dlg).getByRole("textbox", { name: "Name" }), "Llama");
    await user.type(within(dlg).getByLabelText("Endpoint"), "http://localhost:8000/v1");
    await user.click(within(dlg).getByRole("button", { name: "Register model" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ securityPolicy: "organization" });

    await user.click(await screen.findByRole("button", { name: "Edit Local Llama" }));
    dlg = await screen.findByRole("dialog");
    const globex = await within(dlg).findByTestId("allowed-key-key_0123456789abcdef");
    expect(within(dlg).getByTestId("allowed-key-config:app")).toHaveAttribute("aria-pressed", "false");
    await user.click(globex);
    expect(globex).toHaveAttribute("aria-pressed", "true");
    await user.click(within(dlg).getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
    expect(calls.find((c) => c.method === "PUT")?.body).toMatchObject({ securityPolicy: "private", allowedKeys: ["key_0123456789abcdef"] });
  }, 20_000);

  it("shows a load failure with a retry", async () => {
    mockFetch(route("GET", "/api/models", () => ({ status: 500, body: { error: { message: "store is closed", type: "server_error" } } })));
    renderPage(<RegistryPage />);
    expect(await screen.findByText("store is closed")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });
});

describe("execution timeline", () => {
  it("draws each step of a run", async () => {
    mockFetch(
      route("GET", "/api/executions/x1", () => ({
        body: {
          id: "x1",
          kind: "pipeline",
          time: new Date().toISOString(),
          pipeline: "p",
          pipelineName: "Draft then edit",
          model: "pipeline:p",
          status: "error",
          error: "upstream failed",
          failedStep: "edit",
          latencyMs: 120,
          inputTokens: 5,
          outputTokens: 6,
          costUsd: 0.01,
          steps: [
            { id: "in", type: "input", status: "ok", startMs: 0, latencyMs: 0 },
            { id: "draft", type: "model", model: "writer", servedBy: "writer", status: "ok", startMs: 0.1, latencyMs: 70, costUsd: 0.01, input: "hi", output: { text: "hello" } },
            { id: "edit", type: "model", model: "editor", status: "error", startMs: 70.2, latencyMs: 50, error: "upstream failed" },
          ],
        },
      })),
    );
    renderPage(<ExecutionDetailPage />, { id: "x1" });
    expect(await screen.findByRole("heading", { name: "Draft then edit" })).toBeInTheDocument();
    expect(screen.getByTestId("step-draft")).toBeInTheDocument();
    expect(screen.getAllByText("upstream failed").length).toBeGreaterThan(0);
    await userEvent.setup().click(within(screen.getByTestId("step-draft")).getByRole("button"));
    expect(within(screen.getByTestId("step-draft")).getByText(/"text": "hello"/)).toBeInTheDocument();
  });
});

describe("invocation timeline", () => {
  it("places retries after one another, across the axis", async () => {
    mockFetch(
      route("GET", "/api/executions/i1", () => ({
        body: {
          id: "i1",
          kind: "invocation",
          time: new Date().toISOString(),
          op: "chat",
          model: "writer",
          servedBy: "writer",
          status: "ok",
          httpStatus: 200,
          // Mostly backoff: the three attempts took 25 ms of the call's 640.
          latencyMs: 640,
          upstreamLatencyMs: 15,
          inputTokens: 5,
          outputTokens: 6,
          costUsd: 0,
          retries: 2,
          attempts: [
            { model: "writer", provider: "openai", status: 503, error: "busy", latencyMs: 4 },
            { model: "writer", provider: "openai", status: 503, error: "busy", latencyMs: 6 },
            { model: "writer", provider: "openai", latencyMs: 15 },
          ],
        },
      })),
    );
    renderPage(<ExecutionDetailPage />, { id: "i1" });
    const bars = await Promise.all([0, 1, 2].map(async (i) => within(await screen.findByTestId(`step-attempt-${i}`)).getByTitle(/starts at/)));
    const pos = bars.map((b) => ({ left: parseFloat(b.style.left), width: parseFloat(b.style.width) }));
    // Each attempt starts where the one before ended, and the last ends at the axis's end.
    expect(pos[1].left).toBeCloseTo(pos[0].left + pos[0].width, 5);
    expect(pos[2].left).toBeCloseTo(pos[1].left + pos[1].width, 5);
    expect(pos[2].left + pos[2].width).toBeCloseTo(94, 5);
    expect(screen.getByTestId("attempts-note")).toHaveTextContent("not when it started");
  });
});

describe("API reference", () => {
  it("says so when the gateway has no OpenAPI document", async () => {
    mockFetch();
    renderPage(<ApiReferencePage />);
    expect(await screen.findByText("This gateway does not publish an API description")).toBeInTheDocument();
  });

  it("lists paths, methods and summaries", async () => {
    mockFetch(route("GET", "/api/openapi.json", () => ({ body: { openapi: "3.1.0", info: { title: "IoM", version: "1" }, paths: { "/api/models": { get: { summary: "Search models" }, post: { summary: "Register a model" } } } } })));
    renderPage(<ApiReferencePage />);
    expect(await screen.findByText("Search models")).toBeInTheDocument();
    expect(screen.getByText("Register a model")).toBeInTheDocument();
    expect(screen.getAllByText("/api/models", { selector: "code" })).toHaveLength(2);
  });
});
