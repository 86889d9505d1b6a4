import { ArrowClockwise, ChartLine } from "@phosphor-icons/react";
import { useMemo, useState, type ReactNode } from "react";
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Page, PageHeader } from "@/components/Layout";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Select } from "@/components/ui/select";
import { EmptyState, ErrorState, LoadingBlock } from "@/components/ui/states";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { api } from "@/lib/api";
import { fmtCompact, fmtInt, fmtMs, fmtPct, fmtUsd } from "@/lib/format";
import { useApi } from "@/lib/hooks";
import type { AnalyticsReport, AnalyticsTotal } from "@/lib/types";

const RANGES = [
  { value: "1h", label: "Last hour" },
  { value: "6h", label: "6 hours" },
  { value: "24h", label: "Last day" },
  { value: "7d", label: "Last week" },
  { value: "30d", label: "30 days" },
];
const GROUPS = [
  { value: "model", label: "Model" },
  { value: "pipeline", label: "Pipeline" },
  { value: "key", label: "Key" },
  { value: "org", label: "Org" },
];
const PALETTE = ["#4f46e5", "#0891b2", "#d97706", "#059669", "#db2777", "#7c3aed", "#65a30d", "#dc2626"];
const MAX_SERIES = 6;

function tickFormat(range: string) {
  return (t: number) => {
    const d = new Date(t);
    if (range === "7d" || range === "30d") return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
    return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  };
}

type Row = Record<string, number>;

/** One row per time point, with a column per series key (the top ones; the rest as "other"). */
export function pivot(report: AnalyticsReport, metric: (p: AnalyticsReport["series"][0]["points"][0]) => number, keys: string[]): Row[] {
  const rows = new Map<number, Row>();
  for (const s of report.series) {
    const k = keys.includes(s.key) ? s.key : "other";
    for (const p of s.points) {
      const t = new Date(p.t).getTime();
      const row = rows.get(t) ?? { t };
      row[k] = (row[k] ?? 0) + metric(p);
      rows.set(t, row);
    }
  }
  const out = [...rows.values()].sort((a, b) => a.t - b.t);
  for (const r of out) for (const k of [...keys, "other"]) r[k] ??= 0;
  return out;
}

function ChartCard({ title, description, children, className }: { title: string; description?: string; children: ReactNode; className?: string }) {
  return (
    <Card className={className}>
      <div className="px-4 pt-3">
        <h2 className="text-sm font-semibold">{title}</h2>
        {description && <p className="text-xs text-muted-foreground">{description}</p>}
      </div>
      <div className="h-60 px-2 pb-3 pt-2">{children}</div>
    </Card>
  );
}

function Stat({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <Card className="px-4 py-3">
      <div className="text-xs text-muted-foreground">{label}</div>
      <div className="mt-0.5 text-2xl font-semibold tabular-nums tracking-tight" data-testid={`stat-${label}`}>
        {value}
      </div>
      {sub && <div className="text-xs text-muted-foreground">{sub}</div>}
    </Card>
  );
}

/** Whose numbers these are: the whole cluster's (from VictoriaMetrics) or this node's, and why. */
export function SourceNote({ report }: { report: AnalyticsReport }) {
  const cluster = report.source === "victoriaMetrics";
  return (
    <div className="-mb-2 flex flex-wrap items-center gap-2 text-xs text-muted-foreground" data-testid="analytics-source">
      <span title={cluster ? "Every node's metrics, queried from VictoriaMetrics" : "From this node's own records"}>{cluster ? "Whole cluster" : "This node"}</span>
      {report.sourceError && (
        <span role="status" className="rounded border border-amber-300 bg-amber-50 px-2 py-0.5 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-200">
          {report.sourceError}
        </span>
      )}
    </div>
  );
}

const tooltipStyle = { fontSize: 12, borderRadius: 6, border: "1px solid var(--color-border)" };

/** The largest totals as horizontal bars; counts (integer) get whole-number ticks only. */
function TopBars({ data, value, format, color, label, integer = false }: { data: AnalyticsTotal[]; value: (t: AnalyticsTotal) => number; format: (n: number) => string; color: string; label: string; integer?: boolean }) {
  const rows = data
    .map((t) => ({ key: t.key || "(none)", v: value(t) }))
    .filter((r) => r.v > 0)
    .sort((a, b) => b.v - a.v)
    .slice(0, 8);
  if (!rows.length) return <div className="flex h-full items-center justify-center text-xs text-muted-foreground">Nothing in this range</div>;
  return (
    <ResponsiveContainer width="100%" height="100%">
      <BarChart data={rows} layout="vertical" margin={{ left: 8, right: 24 }}>
        <CartesianGrid horizontal={false} strokeDasharray="3 3" />
        <XAxis type="number" tickFormatter={format} fontSize={11} allowDecimals={!integer} tickCount={integer ? Math.min(5, rows[0].v + 1) : 5} />
        <YAxis type="category" dataKey="key" width={110} fontSize={11} tickFormatter={(s: string) => (s.length > 16 ? s.slice(0, 15) + "…" : s)} />
        <Tooltip formatter={(v) => [format(Number(v)), label]} contentStyle={tooltipStyle} />
        <Bar dataKey="v" fill={color} radius={[0, 3, 3, 0]} isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}

export default function AnalyticsPage() {
  const [range, setRange] = useState("1h");
  const [group, setGroup] = useState("model");
  const [latencyKey, setLatencyKey] = useState("");
  const rep = useApi((signal) => api.analytics({ range, group }, { signal }), [range, group], 15_000);
  const r = rep.data;

  const keys = useMemo(() => (r ? [...r.totals].sort((a, b) => b.requests - a.requests).slice(0, MAX_SERIES).map((t) => t.key) : []), [r]);
  const hasOther = !!r && r.series.length > keys.length;
  const seriesKeys = hasOther ? [...keys, "other"] : keys;
  const requests = useMemo(() => (r ? pivot(r, (p) => p.requests, keys) : []), [r, keys]);
  const errors = useMemo(() => (r ? pivot(r, (p) => p.errors, keys) : []), [r, keys]);
  const cost = useMemo(() => (r ? pivot(r, (p) => p.costUsd, keys) : []), [r, keys]);
  const tokens = useMemo(() => {
    if (!r) return [];
    const m = new Map<number, Row>();
    for (const s of r.series)
      for (const p of s.points) {
        const t = new Date(p.t).getTime();
        const row = m.get(t) ?? { t, input: 0, output: 0 };
        row.input += p.inputTokens;
        row.output += p.outputTokens;
        m.set(t, row);
      }
    return [...m.values()].sort((a, b) => a.t - b.t);
  }, [r]);
  const lkey = latencyKey && r?.series.some((s) => s.key === latencyKey) ? latencyKey : keys[0] ?? "";
  const latency = useMemo(() => {
    const s = r?.series.find((x) => x.key === lkey);
    return (s?.points ?? []).filter((p) => p.requests > 0).map((p) => ({ t: new Date(p.t).getTime(), p50: p.latencyMs.p50, p95: p.latencyMs.p95, p99: p.latencyMs.p99, mean: p.latencyMs.mean }));
  }, [r, lkey]);

  const o = r?.overall;
  const fmtT = tickFormat(range);
  const xAxis = <XAxis dataKey="t" type="number" scale="time" domain={r ? [new Date(r.from).getTime(), new Date(r.to).getTime()] : ["auto", "auto"]} tickFormatter={fmtT} fontSize={11} minTickGap={40} />;
  const tip = (fmt: (n: number) => string) => <Tooltip labelFormatter={(t) => new Date(Number(t)).toLocaleString()} formatter={(v, name) => [fmt(Number(v)), String(name)]} contentStyle={tooltipStyle} />;
  const groupLabel = GROUPS.find((g) => g.value === group)?.label.toLowerCase() ?? group;

  return (
    <Page>
      <PageHeader
        title="Analytics"
        description="Requests, errors, latency, tokens and cost over time."
        actions={
          <>
            <Tabs value={range} onValueChange={setRange}>
              <TabsList aria-label="Time range">
                {RANGES.map((x) => (
                  <TabsTrigger key={x.value} value={x.value}>
                    {x.label}
                  </TabsTrigger>
                ))}
              </TabsList>
            </Tabs>
            <div className="w-36">
              <Select aria-label="Group by" value={group} onValueChange={setGroup} options={GROUPS.map((g) => ({ value: g.value, label: `By ${g.label.toLowerCase()}` }))} />
            </div>
            <Button variant="outline" size="icon" className="h-9 w-9" onClick={rep.reload} aria-label="Refresh">
              <ArrowClockwise size={15} className={rep.loading ? "animate-spin" : ""} />
            </Button>
          </>
        }
      />
      {rep.error && !r ? (
        <ErrorState title="Cannot load analytics" error={rep.error} onRetry={rep.reload} />
      ) : !r || !o ? (
        <LoadingBlock rows={3} label="Loading analytics" />
      ) : (
        <div className="grid gap-4">
          <SourceNote report={r} />
          <div className="grid grid-cols-2 gap-3 lg:grid-cols-5" data-testid="analytics-totals">
            <Stat label="Requests" value={fmtInt(o.requests)} sub={`step ${r.step}`} />
            <Stat label="Errors" value={fmtInt(o.errors)} sub={o.requests ? `${fmtPct(o.errors / o.requests)} of requests` : undefined} />
            <Stat label="Latency p95" value={o.requests ? fmtMs(o.latencyMs.p95) : "—"} sub={o.requests ? `p50 ${fmtMs(o.latencyMs.p50)} · p99 ${fmtMs(o.latencyMs.p99)}` : undefined} />
            <Stat label="Tokens" value={fmtCompact(o.inputTokens + o.outputTokens)} sub={`${fmtCompact(o.inputTokens)} in · ${fmtCompact(o.outputTokens)} out`} />
            <Stat label="Cost" value={fmtUsd(o.costUsd)} />
          </div>
          {o.requests === 0 ? (
            <EmptyState icon={<ChartLine size={36} />} title="No traffic in this range">
              Charts fill in as apps call models and pipelines. Test a model from the registry, or pick a longer range.
            </EmptyState>
          ) : (
            <>
              <div className="grid gap-4 xl:grid-cols-2">
                <ChartCard title={`Requests by ${groupLabel}`} description={`Per ${r.step}`}>
                  <ResponsiveContainer width="100%" height="100%">
                    <AreaChart data={requests} data-testid="chart-requests">
                      <CartesianGrid strokeDasharray="3 3" vertical={false} />
                      {xAxis}
                      <YAxis fontSize={11} allowDecimals={false} width={40} />
                      {tip(fmtInt)}
                      <Legend wrapperStyle={{ fontSize: 11 }} />
                      {seriesKeys.map((k, i) => (
                        <Area key={k} type="monotone" dataKey={k} name={k || "(none)"} stackId="1" stroke={PALETTE[i % PALETTE.length]} fill={PALETTE[i % PALETTE.length]} fillOpacity={0.25} isAnimationActive={false} />
                      ))}
                    </AreaChart>
                  </ResponsiveContainer>
                </ChartCard>
                <ChartCard title={`Errors by ${groupLabel}`} description={`Per ${r.step}`}>
                  <ResponsiveContainer width="100%" height="100%">
                    <BarChart data={errors}>
                      <CartesianGrid strokeDasharray="3 3" vertical={false} />
                      {xAxis}
                      <YAxis fontSize={11} allowDecimals={false} width={40} />
                      {tip(fmtInt)}
                      <Legend wrapperStyle={{ fontSize: 11 }} />
                      {seriesKeys.map((k, i) => (
                        <Bar key={k} dataKey={k} name={k || "(none)"} stackId="1" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
                      ))}
                    </BarChart>
                  </ResponsiveContainer>
                </ChartCard>
                <Card>
                  <div className="flex items-start justify-between gap-2 px-4 pt-3">
                    <div>
                      <h2 className="text-sm font-semibold">Latency percentiles</h2>
                      <p className="text-xs text-muted-foreground">Of one {groupLabel}</p>
                    </div>
                    <div className="w-44">
                      <Select aria-label={`Latency of which ${groupLabel}`} value={lkey} onValueChange={setLatencyKey} options={r.totals.map((t) => ({ value: t.key, label: t.key || "(none)" }))} />
                    </div>
                  </div>
                  <div className="h-60 px-2 pb-3 pt-2">
                    <ResponsiveContainer width="100%" height="100%">
                      <LineChart data={latency}>
                        <CartesianGrid strokeDasharray="3 3" vertical={false} />
                        {xAxis}
                        <YAxis fontSize={11} tickFormatter={(v: number) => fmtMs(v)} width={56} />
                        {tip(fmtMs)}
                        <Legend wrapperStyle={{ fontSize: 11 }} />
                        <Line type="monotone" dataKey="p50" stroke="#059669" dot={false} isAnimationActive={false} />
                        <Line type="monotone" dataKey="p95" stroke="#d97706" dot={false} isAnimationActive={false} />
                        <Line type="monotone" dataKey="p99" stroke="#dc2626" dot={false} isAnimationActive={false} />
                        <Line type="monotone" dataKey="mean" stroke="#64748b" strokeDasharray="4 3" dot={false} isAnimationActive={false} />
                      </LineChart>
                    </ResponsiveContainer>
                  </div>
                </Card>
                <ChartCard title="Tokens" description="Input and output, all together">
                  <ResponsiveContainer width="100%" height="100%">
                    <BarChart data={tokens}>
                      <CartesianGrid strokeDasharray="3 3" vertical={false} />
                      {xAxis}
                      <YAxis fontSize={11} tickFormatter={(v: number) => fmtCompact(v)} width={44} />
                      {tip(fmtInt)}
                      <Legend wrapperStyle={{ fontSize: 11 }} />
                      <Bar dataKey="input" stackId="t" fill="#4f46e5" isAnimationActive={false} />
                      <Bar dataKey="output" stackId="t" fill="#0891b2" isAnimationActive={false} />
                    </BarChart>
                  </ResponsiveContainer>
                </ChartCard>
                <ChartCard title={`Cost by ${groupLabel}`} description="US dollars">
                  <ResponsiveContainer width="100%" height="100%">
                    <AreaChart data={cost}>
                      <CartesianGrid strokeDasharray="3 3" vertical={false} />
                      {xAxis}
                      <YAxis fontSize={11} tickFormatter={(v: number) => fmtUsd(v)} width={64} />
                      {tip(fmtUsd)}
                      <Legend wrapperStyle={{ fontSize: 11 }} />
                      {seriesKeys.map((k, i) => (
                        <Area key={k} type="monotone" dataKey={k} name={k || "(none)"} stackId="1" stroke={PALETTE[i % PALETTE.length]} fill={PALETTE[i % PALETTE.length]} fillOpacity={0.25} isAnimationActive={false} />
                      ))}
                    </AreaChart>
                  </ResponsiveContainer>
                </ChartCard>
                <div className="grid gap-4 sm:grid-cols-2">
                  <ChartCard title={`Top ${groupLabel}s by cost`}>
                    <TopBars data={r.totals} value={(t) => t.costUsd} format={fmtUsd} color="#4f46e5" label="cost" />
                  </ChartCard>
                  <ChartCard title={`Top ${groupLabel}s by errors`}>
                    <TopBars data={r.totals} value={(t) => t.errors} format={fmtInt} color="#dc2626" label="errors" integer />
                  </ChartCard>
                </div>
              </div>
              <Card className="overflow-x-auto">
                <table className="w-full text-sm" aria-label={`Totals by ${groupLabel}`}>
                  <thead className="border-b bg-muted/50 text-left text-xs text-muted-foreground">
                    <tr>
                      <th className="px-3 py-2 font-medium capitalize">{groupLabel}</th>
                      <th className="px-3 py-2 text-right font-medium">Requests</th>
                      <th className="px-3 py-2 text-right font-medium">Errors</th>
                      <th className="px-3 py-2 text-right font-medium">p50</th>
                      <th className="px-3 py-2 text-right font-medium">p95</th>
                      <th className="px-3 py-2 text-right font-medium">p99</th>
                      <th className="px-3 py-2 text-right font-medium">Tokens in / out</th>
                      <th className="px-3 py-2 text-right font-medium">Cost</th>
                    </tr>
                  </thead>
                  <tbody className="divide-y tabular-nums">
                    {[...r.totals]
                      .sort((a, b) => b.requests - a.requests)
                      .map((t) => (
                        <tr key={t.key}>
                          <td className="px-3 py-2 font-mono text-xs">{t.key || "(none)"}</td>
                          <td className="px-3 py-2 text-right">{fmtInt(t.requests)}</td>
                          <td className="px-3 py-2 text-right">
                            {fmtInt(t.errors)} {t.requests ? <span className="text-xs text-muted-foreground">({fmtPct(t.errors / t.requests)})</span> : null}
                          </td>
                          <td className="px-3 py-2 text-right">{fmtMs(t.latencyMs.p50)}</td>
                          <td className="px-3 py-2 text-right">{fmtMs(t.latencyMs.p95)}</td>
                          <td className="px-3 py-2 text-right">{fmtMs(t.latencyMs.p99)}</td>
                          <td className="px-3 py-2 text-right">
                            {fmtCompact(t.inputTokens)} / {fmtCompact(t.outputTokens)}
                          </td>
                          <td className="px-3 py-2 text-right">{fmtUsd(t.costUsd)}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              </Card>
            </>
          )}
        </div>
      )}
    </Page>
  );
}
