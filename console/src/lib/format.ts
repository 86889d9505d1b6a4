// Number, time and money formatting shared by the pages.

const nf = new Intl.NumberFormat("en-US");

export function fmtInt(n: number | undefined | null): string {
  if (n === undefined || n === null || Number.isNaN(n)) return "—";
  return nf.format(Math.round(n));
}

export function fmtCompact(n: number | undefined | null): string {
  if (n === undefined || n === null || Number.isNaN(n)) return "—";
  if (Math.abs(n) < 1000) return fmtInt(n);
  return new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

export function fmtMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return "—";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Dollars, with enough digits for the fractions of a cent that single calls cost. */
export function fmtUsd(usd: number | undefined | null): string {
  if (usd === undefined || usd === null || Number.isNaN(usd)) return "—";
  if (usd === 0) return "$0";
  const a = Math.abs(usd);
  if (a >= 100) return `$${usd.toFixed(0)}`;
  if (a >= 1) return `$${usd.toFixed(2)}`;
  if (a >= 0.01) return `$${usd.toFixed(3)}`;
  if (a < 0.000001) return usd < 0 ? "-<$0.000001" : "<$0.000001";
  return `$${usd.toFixed(6).replace(/0+$/, "")}`;
}

/** A per-token price as dollars per million tokens, the unit providers quote. */
export function fmtPerMillion(perToken: number | undefined | null): string {
  if (perToken === undefined || perToken === null || Number.isNaN(perToken)) return "—";
  const m = perToken * 1_000_000;
  if (m === 0) return "free";
  return `$${m >= 100 ? m.toFixed(0) : Number(m.toPrecision(3))}/1M`;
}

export function fmtPct(x: number | undefined | null, digits = 1): string {
  if (x === undefined || x === null || Number.isNaN(x)) return "—";
  return `${(x * 100).toFixed(digits)}%`;
}

export function fmtTime(iso: string | undefined | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function fmtAgo(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return "never";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return "—";
  const s = Math.round((now - t) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

export function pretty(v: unknown): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}
