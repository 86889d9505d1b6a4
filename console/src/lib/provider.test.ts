import { describe, expect, it } from "vitest";
import { API_VERSION_PATTERN, AWS_KEY_PATTERN, AWS_REGION_PATTERN, AZURE_API_VERSION, fieldsOf, inferProvider } from "./provider";
import { PROVIDERS } from "./types";

describe("the provider kinds", () => {
  it("lists the built-in providers the gateway has", () => {
    expect([...PROVIDERS].sort()).toEqual(["anthropic", "azure", "bedrock", "gemini", "http", "huggingface", "ollama", "openai"]);
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

  it("knows bedrock: its hosts, its region and its keys, as the gateway does", () => {
    expect(fieldsOf("bedrock")).toMatchObject({ region: true });
    expect(inferProvider("https://bedrock-runtime.us-east-1.amazonaws.com")).toBe("bedrock");
    expect(inferProvider("https://bedrock-runtime-fips.us-west-2.amazonaws.com/")).toBe("bedrock");
    expect(inferProvider("https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1")).toBe("openai");
    expect(inferProvider("https://bedrock-runtime.us-east-1.amazonaws.com.evil.test")).toBe("");
    for (const r of ["us-east-1", "eu-central-2", "us-gov-west-1"]) expect(AWS_REGION_PATTERN.test(r)).toBe(true);
    for (const r of ["", "Virginia", "us-east", " us-east-1"]) expect(AWS_REGION_PATTERN.test(r)).toBe(false);
    for (const k of ["AKID:secret", "AKID:sec/ret+x:token=="]) expect(AWS_KEY_PATTERN.test(k)).toBe(true);
    for (const k of ["sk-123", "AKID:", "AKID:secret:token:more", "AKID::token", "AKID:sec ret"]) expect(AWS_KEY_PATTERN.test(k)).toBe(false);
  });
});
