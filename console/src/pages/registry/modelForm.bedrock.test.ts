import { describe, expect, it } from "vitest";
import type { ModelView } from "@/lib/types";
import { buildModel, emptyModelForm, fieldOfParam, formFromModel } from "./modelForm";

describe("the model form for bedrock", () => {
  const bedrock = { ...emptyModelForm, name: "Claude", provider: "bedrock", endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com", upstreamModel: "anthropic.claude-3-5-sonnet-20240620-v1:0" };

  it("keeps the region in config and checks it and the key as the gateway does", () => {
    const r = buildModel({ ...bedrock, region: " eu-west-3 ", apiKey: "AKIDEXAMPLE:secret:token" });
    expect(r.ok && r.model).toMatchObject({ provider: "bedrock", config: { region: "eu-west-3" } });
    expect(r.ok && (r.model as unknown as Record<string, unknown>).apiKey).toBe("AKIDEXAMPLE:secret:token");
    const plain = buildModel(bedrock);
    expect(plain.ok && "config" in plain.model).toBe(false);
    const badRegion = buildModel({ ...bedrock, region: "Virginia" });
    expect(!badRegion.ok && badRegion.errors.region).toMatch(/AWS region/);
    const badKey = buildModel({ ...bedrock, apiKey: "sk-not-aws" });
    expect(!badKey.ok && badKey.errors.apiKey).toMatch(/ACCESS_KEY_ID:SECRET_ACCESS_KEY/);
    expect(buildModel({ ...bedrock, endpoint: "" }).ok).toBe(false);
  });

  it("edits keep the rest of config, and clearing the region removes it", () => {
    const view = { id: "c", name: "C", provider: "bedrock", endpoint: bedrock.endpoint, config: { region: "us-west-2", other: 1 }, securityPolicy: "public", hasApiKey: true, status: "available" } as unknown as ModelView;
    const f = formFromModel(view);
    expect(f.region).toBe("us-west-2");
    const cleared = buildModel({ ...f, region: "" }, view);
    expect(cleared.ok && cleared.model.config).toEqual({ other: 1 });
    expect(fieldOfParam("config.region")).toBe("region");
  });
});
