import { afterEach, describe, expect, it, vi } from "vitest";
import { mockFetch, route } from "@/test/fetch";
import { api, ApiError, getToken, onAuthChange, setToken } from "./api";

afterEach(() => vi.unstubAllGlobals());

describe("api client", () => {
  it("sends the admin token and builds queries with repeated tags", async () => {
    setToken("tok-1");
    const { calls } = mockFetch(route("GET", "/api/models", () => ({ body: { data: [], total: 0 } })));
    await api.listModels({ q: "llama", tag: ["a", "b"], type: "", maxLatencyMs: 100, sort: "-cost" });
    expect(calls[0].headers.Authorization).toBe("Bearer tok-1");
    expect(calls[0].url.searchParams.getAll("tag")).toEqual(["a", "b"]);
    expect(calls[0].url.searchParams.get("q")).toBe("llama");
    expect(calls[0].url.searchParams.has("type")).toBe(false);
    expect(calls[0].url.searchParams.get("sort")).toBe("-cost");
  });

  it("throws the API's error message, type and param as they are", async () => {
    setToken("tok");
    mockFetch(route("POST", "/api/models", () => ({ status: 400, body: { error: { message: "endpoint: is required", type: "invalid_request_error", code: "invalid_value", param: "endpoint" } } })));
    const err = await api.createModel({ name: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe("endpoint: is required");
    expect(err.param).toBe("endpoint");
    expect(err.status).toBe(400);
  });

  it("signs out on a 401 from any call", async () => {
    setToken("stale");
    const reasons: (string | null)[] = [];
    const off = onAuthChange((r) => reasons.push(r));
    mockFetch(route("GET", "/api/keys", () => ({ status: 401, body: { error: { message: "bad admin token", type: "authentication_error" } } })));
    await expect(api.listKeys()).rejects.toThrow("bad admin token");
    expect(getToken()).toBeNull();
    expect(reasons).toEqual(["bad admin token"]);
    off();
  });

  it("does not sign out when checking a token at sign-in", async () => {
    setToken("good");
    mockFetch(route("GET", "/api/status", () => ({ status: 401, body: { error: { message: "no", type: "authentication_error" } } })));
    await expect(api.status({ token: "wrong" })).rejects.toThrow("no");
    expect(getToken()).toBe("good");
  });

  it("returns a failed run with its execution", async () => {
    setToken("t");
    mockFetch(route("POST", "/api/pipelines/p/run", () => ({ status: 502, body: { executionId: "x1", status: "error", execution: { id: "x1", steps: [] } } })));
    const r = await api.runPipeline("p", { prompt: "hi" });
    expect(r.executionId).toBe("x1");
    expect(r.status).toBe("error");
  });

  it("throws a run refused before it started", async () => {
    setToken("t");
    mockFetch(route("POST", "/api/pipelines/p/run", () => ({ status: 400, body: { error: { message: "input does not match", type: "invalid_request_error", param: "input" } } })));
    await expect(api.runPipeline("p", 1)).rejects.toThrow("input does not match");
  });

  it("reports a missing OpenAPI document as null", async () => {
    setToken("t");
    mockFetch();
    expect(await api.openapi()).toBeNull();
  });

  it("explains a network failure", async () => {
    setToken("t");
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(api.status()).rejects.toThrow(/Cannot reach the gateway/);
  });
});
