import { describe, expect, it } from "vitest";
import { API_VERSION_PATTERN, AZURE_API_VERSION, fieldsOf } from "./provider";
import { PROVIDERS } from "./types";

describe("the provider kinds", () => {
  it("lists the built-in providers the gateway has", () => {
    expect([...PROVIDERS].sort()).toEqual(["anthropic", "azure", "gemini", "http", "huggingface", "ollama", "openai"]);
  });

  it("knows the fields of gemini and azure", () => {
    expect(fieldsOf("gemini")).toMatchObject({ endpoint: "https://generativelanguage.googleapis.com/v1beta", defaultEndpoint: true });
    expect(fieldsOf("azure")).toMatchObject({ apiVersion: true });
    expect(fieldsOf("azure")?.defaultEndpoint).toBeFalsy();
    expect(fieldsOf("openai")).toBeUndefined();
  });

  it("checks api-versions as the gateway does", () => {
    for (const v of [AZURE_API_VERSION, "2025-04-01-preview", "preview", "latest"]) expect(API_VERSION_PATTERN.test(v)).toBe(true);
    for (const v of ["", "2024-10", "v1", "2024-10-21-beta", " 2024-10-21"]) expect(API_VERSION_PATTERN.test(v)).toBe(false);
  });
});
