import type { Attempt } from "@/lib/types";

export interface PlacedAttempt {
  attempt: Attempt;
  startMs: number;
  latencyMs: number;
}

/**
 * Places a call's upstream attempts on one time axis, from the first attempt's start. The
 * gateway records how long each attempt took (latencyMs) but not when it started, nor the
 * backoff it waited before a retry: attempts are laid out one after the other by cumulative
 * latency, plus a wait wherever a record carries one (backoffMs), or at its own startMs when it
 * has one. measured says whether every start came from the record itself.
 */
export function placeAttempts(attempts: Attempt[]): { placed: PlacedAttempt[]; spanMs: number; measured: boolean } {
  let at = 0;
  const placed = attempts.map((a) => {
    const latencyMs = Math.max(a.latencyMs || 0, 0);
    const startMs = typeof a.startMs === "number" ? a.startMs : at + Math.max(a.backoffMs ?? 0, 0);
    at = startMs + latencyMs;
    return { attempt: a, startMs, latencyMs };
  });
  const spanMs = placed.reduce((m, p) => Math.max(m, p.startMs + p.latencyMs), 0);
  return { placed, spanMs, measured: attempts.length > 0 && attempts.every((a) => typeof a.startMs === "number") };
}
