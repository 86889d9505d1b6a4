import { describe, expect, it } from "vitest";
import type { ModelView } from "@/lib/types";
import { buildModel, emptyModelForm, fieldOfParam, formFromModel } from "./modelForm";

const base = { ...emptyModelForm, name: "Local Llama", endpoint: "http://localhost:11434/v1" };

describe("the model form", () => {
  it("builds the seed's registration shape", () => {
    const r = buildModel({ ...base, tags: "local, fast ,", costPerToken: "0.00003", latency: "2000", inputSchema: '{"type":"object"}' });
    expect(r).toEqual({
      ok: true,
      model: { name: "Local Llama", endpoint: "http://localhost:11434/v1", modelType: "llm", securityPolicy: "organization", tags: ["local", "fast"], costPerToken: 0.00003, latency: 2000, inputSchema: { type: "object" } },
    });
  });

  it("checks fields before sending", () => {
    const r = buildModel({ ...emptyModelForm, endpoint: "ftp://x", securityPolicy: "organization", costPerToken: "-1", retryAttempts: "11", inputSchema: "{", id: "auto" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.name).toBe("A name is required");
    expect(r.errors.endpoint).toMatch(/http or https URL/);
    expect(r.errors.costPerToken).toBe("Cost per token must not be negative");
    expect(r.errors.retryAttempts).toBe("Retry attempts must be at most 10");
    expect(r.errors.inputSchema).toMatch(/^Input schema: Not valid JSON/);
    expect(r.errors.id).toBe("This id is reserved");
  });

  it("defaults to the organization policy, leaving the org to the gateway (its default org)", () => {
    expect(emptyModelForm.securityPolicy).toBe("organization");
    const r = buildModel(base);
    expect(r.ok && r.model.securityPolicy).toBe("organization");
    expect(r.ok && "org" in r.model).toBe(false);
    const acme = buildModel({ ...base, org: " acme " });
    expect(acme.ok && acme.model.org).toBe("acme");
  });

  it("sends allowed keys as key ids", () => {
    const r = buildModel({ ...base, securityPolicy: "private", allowedKeys: ["config:app", "key_0123456789abcdef"] });
    expect(r.ok && r.model.allowedKeys).toEqual(["config:app", "key_0123456789abcdef"]);
    const view = { id: "m", name: "M", securityPolicy: "private", allowedKeys: ["config:app"], hasApiKey: false, status: "available" } as unknown as ModelView;
    expect(formFromModel(view).allowedKeys).toEqual(["config:app"]);
  });

  it("does not need an endpoint for plugin providers", () => {
    expect(buildModel({ ...emptyModelForm, name: "Sum", provider: "wasm:summarizer" }).ok).toBe(true);
  });

  it("keeps fields it does not show on edit, and the stored key unless a new one is typed", () => {
    const view = {
      id: "m",
      name: "M",
      endpoint: "https://api.openai.com/v1",
      modelType: "llm",
      securityPolicy: "public",
      upstreamModel: "m",
      hasApiKey: true,
      status: "available",
      stats: { requests: 1 },
      replicas: [{ endpoint: "https://b" }],
      headers: { "x-a": "1" },
      managedBy: "api",
      retry: { attempts: 2 },
    } as unknown as ModelView;
    const f = formFromModel(view);
    expect(f.upstreamModel).toBe("");
    expect(f.retryAttempts).toBe("2");
    const r = buildModel({ ...f, description: "new" }, view);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = r.model as unknown as Record<string, unknown>;
    expect(m.description).toBe("new");
    expect(m.replicas).toEqual([{ endpoint: "https://b" }]);
    expect(m.headers).toEqual({ "x-a": "1" });
    expect(m.retry).toEqual({ attempts: 2 });
    for (const k of ["apiKey", "hasApiKey", "status", "stats", "managedBy", "upstreamModel"]) expect(m).not.toHaveProperty(k);
    const withKey = buildModel({ ...f, apiKey: " sk-new " }, view);
    expect(withKey.ok && (withKey.model as unknown as Record<string, unknown>).apiKey).toBe("sk-new");
  });

  it("offers gemini without an endpoint, and azure with its api-version in config", () => {
    const gemini = buildModel({ ...emptyModelForm, name: "Gemini", provider: "gemini", upstreamModel: "gemini-2.5-flash" });
    expect(gemini.ok && gemini.model).toMatchObject({ provider: "gemini", upstreamModel: "gemini-2.5-flash" });
    expect(gemini.ok && "endpoint" in gemini.model).toBe(false);
    const azure = { ...emptyModelForm, name: "Azure", provider: "azure", endpoint: "https://res.openai.azure.com", upstreamModel: "my-gpt-4o" };
    const r = buildModel({ ...azure, apiVersion: " 2025-04-01-preview " });
    expect(r.ok && r.model.config).toEqual({ apiVersion: "2025-04-01-preview" });
    const plain = buildModel(azure);
    expect(plain.ok && "config" in plain.model).toBe(false);
    const bad = buildModel({ ...azure, apiVersion: "last tuesday" });
    expect(!bad.ok && bad.errors.apiVersion).toMatch(/api-version/);
    expect(buildModel({ ...emptyModelForm, name: "No endpoint", provider: "azure" }).ok).toBe(false);
    // An edit keeps the rest of config, and a provider other than azure leaves config alone.
    const view = { id: "a", name: "A", provider: "azure", endpoint: "https://res.openai.azure.com", config: { apiVersion: "2024-06-01", other: 1 }, securityPolicy: "public", hasApiKey: true, status: "available" } as unknown as ModelView;
    const f = formFromModel(view);
    expect(f.apiVersion).toBe("2024-06-01");
    const cleared = buildModel({ ...f, apiVersion: "" }, view);
    expect(cleared.ok && cleared.model.config).toEqual({ other: 1 });
    const plugin = { ...view, provider: "wasm:x", config: { apiVersion: "v9" } } as unknown as ModelView;
    const kept = buildModel({ ...formFromModel(plugin), apiVersion: "" }, plugin);
    expect(kept.ok && kept.model.config).toEqual({ apiVersion: "v9" });
  });

  it("maps the API's error params to fields", () => {
    expect(fieldOfParam("config.apiVersion")).toBe("apiVersion");
    expect(fieldOfParam("retry.attempts")).toBe("retryAttempts");
    expect(fieldOfParam("tags[2]")).toBe("tags");
    expect(fieldOfParam("endpoint")).toBe("endpoint");
    expect(fieldOfParam("replicas[0].endpoint")).toBeUndefined();
  });
});
