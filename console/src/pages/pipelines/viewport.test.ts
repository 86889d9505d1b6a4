import { describe, expect, it } from "vitest";
import { MIN_OPEN_ZOOM, openingViewport } from "./viewport";

describe("openingViewport", () => {
  it("opens a wide graph at a readable zoom, its start in view", () => {
    // The content-generation seed: five nodes 240 apart, on a 1366x768 screen's canvas.
    const v = openingViewport({ x: 0, y: 120, width: 1168, height: 64 }, 630, 714);
    expect(v.zoom).toBe(MIN_OPEN_ZOOM);
    expect(v.x).toBe(32); // the input node's left edge, after the padding
    expect(v.y + 120 * v.zoom + (64 * v.zoom) / 2).toBeCloseTo(714 / 2); // centered vertically
  });

  it("centers a graph that fits, never above 1:1", () => {
    const small = openingViewport({ x: 40, y: 160, width: 400, height: 64 }, 700, 700);
    expect(small.zoom).toBe(1);
    expect(small.x + 40).toBeCloseTo((700 - 400) / 2);
    const mid = openingViewport({ x: 0, y: 0, width: 720, height: 100 }, 700, 700);
    expect(mid.zoom).toBeCloseTo((700 - 64) / 720);
    expect(mid.x).toBeCloseTo(32);
  });

  it("puts a tall graph's top in view", () => {
    const v = openingViewport({ x: 0, y: -50, width: 200, height: 2000 }, 700, 500);
    expect(v.zoom).toBe(MIN_OPEN_ZOOM);
    expect(v.y).toBeCloseTo(32 + 50 * MIN_OPEN_ZOOM);
  });
});
