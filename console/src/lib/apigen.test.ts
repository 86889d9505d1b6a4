// api.gen.ts is what openapi-typescript makes of openapi.json (npm run gen:api), and openapi.json
// is the gateway's document (TestOpenAPIFile in gateway/server keeps it current): with tsc over
// the console, a Go type that changes under the console fails the build or this test.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { ErrorDetail, ExecutionRecord, GatewayKey, KeyList, ModelPage, ModelView, Pipeline, PipelinePage, RunResult } from "./types";

const root = resolve(import.meta.dirname, "../..");

describe("api.gen.ts", () => {
  it("is what openapi-typescript makes of openapi.json", async () => {
    const doc = JSON.parse(readFileSync(resolve(root, "openapi.json"), "utf8"));
    const want = COMMENT_HEADER + astToString(await openapiTS(doc, { silent: true }));
    const got = readFileSync(resolve(root, "src/lib/api.gen.ts"), "utf8");
    // A message, not a diff of thousands of lines: the fix is to regenerate.
    expect(got === want, "src/lib/api.gen.ts is out of date: npm run gen:api (in console/)").toBe(true);
  }, 30_000);

  // Checked by tsc (npm run build): the console's names resolve to the gateway's shapes.
  it("gives the console's names the gateway's shapes", () => {
    expectTypeOf<ModelPage>().toEqualTypeOf<{ data: ModelView[]; total: number; next?: number; statsSource: string }>();
    expectTypeOf<PipelinePage["data"]>().toEqualTypeOf<Pipeline[]>();
    expectTypeOf<KeyList>().toEqualTypeOf<{ data: GatewayKey[] }>();
    expectTypeOf<ExecutionRecord["kind"]>().toEqualTypeOf<"invocation" | "pipeline">();
    expectTypeOf<ErrorDetail["code"]>().toEqualTypeOf<string | null>();
    expectTypeOf<RunResult["execution"]>().toEqualTypeOf<Extract<ExecutionRecord, { kind: "pipeline" }> | undefined>();
  });
});
