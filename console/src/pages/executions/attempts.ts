import type { Attempt } from "@/lib/types";

/** An attempt as recorded: records kept from before the gateway recorded startMs lack it. */
export type RecordedAttempt = Omit<Attempt, "startMs"> & { startMs?: number };

export interface PlacedAttempt {
  attempt: RecordedAttempt;
  startMs: number;
  latencyMs: number;
}

/**
 * Places a call's upstream attempts on one time axis, from the request's arrival. The gateway
 * records when each attempt started (startMs: a retry's backoff shows as the gap before it) and
 * how long it took (latencyMs); an older record without startMs is laid out one attempt after the
 * other by cumulative latency. measured says whether every start came from the record itself.
 */
export function placeAttempts(attempts: RecordedAttempt[]): { placed: PlacedAttempt[]; spanMs: number; measured: boolean } {
  let at = 0;
  const placed = attempts.map((a) => {
    const latencyMs = Math.max(a.latencyMs || 0, 0);
    const startMs = typeof a.startMs === "number" ? a.startMs : at;
    at = startMs + latencyMs;
    return { attempt: a, startMs, latencyMs };
  });
  const spanMs = placed.reduce((m, p) => Math.max(m, p.startMs + p.latencyMs), 0);
  return { placed, spanMs, measured: attempts.length > 0 && attempts.every((a) => typeof a.startMs === "number") };
}
