import { describe, expect, it } from "vitest";
import { placeAttempts } from "./attempts";

describe("placeAttempts", () => {
  it("lays attempts of an older record (no startMs) out one after the other by their latency", () => {
    const t = placeAttempts([
      { model: "a", latencyMs: 12, status: 503, error: "busy" },
      { model: "a", latencyMs: 8, status: 503, error: "busy" },
      { model: "b", latencyMs: 30 },
    ]);
    expect(t.placed.map((p) => [p.startMs, p.latencyMs])).toEqual([
      [0, 12],
      [12, 8],
      [20, 30],
    ]);
    expect(t.spanMs).toBe(50);
    expect(t.measured).toBe(false);
  });

  it("keeps recorded starts, so a retry's backoff shows as a gap", () => {
    const t = placeAttempts([{ model: "a", latencyMs: 10, startMs: 0 }, { model: "a", latencyMs: 5, startMs: 400 }]);
    expect(t.placed.map((p) => p.startMs)).toEqual([0, 400]);
    expect(t.spanMs).toBe(405);
    expect(t.measured).toBe(true);
  });

  it("has nothing to place without attempts", () => {
    expect(placeAttempts([])).toEqual({ placed: [], spanMs: 0, measured: false });
  });
});
