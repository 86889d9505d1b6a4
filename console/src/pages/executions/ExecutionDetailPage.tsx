import { ArrowSquareOut, CaretLeft } from "@phosphor-icons/react";
import { useState, type ReactNode } from "react";
import { RunStatusBadge } from "@/components/badges";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { CodeBlock, CopyButton } from "@/components/ui/code";
import { ErrorState, LoadingBlock } from "@/components/ui/states";
import { api } from "@/lib/api";
import { fmtInt, fmtMs, fmtTime, fmtUsd } from "@/lib/format";
import { useApi } from "@/lib/hooks";
import { Link, useParams } from "@/lib/router";
import type { Invocation, PipelineExecution, StepRecord } from "@/lib/types";
import { cn } from "@/lib/utils";
import { placeAttempts } from "./attempts";
import { nodeOf, recordTitle } from "./ExecutionsPage";
import { TraceId } from "./trace";

function Metric({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="rounded-lg border bg-card px-3 py-2">
      <div className="text-[11px] text-muted-foreground">{label}</div>
      <div className="truncate text-sm font-semibold tabular-nums">{children}</div>
    </div>
  );
}

const barColor: Record<string, string> = {
  ok: "bg-success",
  error: "bg-destructive",
  running: "bg-warning animate-pulse",
  pending: "bg-muted-foreground/30",
  skipped: "bg-muted-foreground/30",
  canceled: "bg-muted-foreground/30",
};

export interface WaterfallRow {
  id: string;
  title: ReactNode;
  subtitle?: ReactNode;
  status: string;
  startMs: number;
  latencyMs: number;
  extra?: ReactNode;
  details?: ReactNode;
}

/** Bars placed by start offset and sized by latency, on one time axis. */
export function Waterfall({ rows, totalMs }: { rows: WaterfallRow[]; totalMs: number }) {
  const [open, setOpen] = useState<string | null>(null);
  const total = Math.max(totalMs, ...rows.map((r) => r.startMs + r.latencyMs), 0.001);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div className="rounded-lg border bg-card" role="table" aria-label="Timeline">
      <div className="flex border-b bg-muted/40 text-[10px] text-muted-foreground" role="row">
        <div className="w-64 shrink-0 px-3 py-1.5" role="columnheader">
          Step
        </div>
        <div className="relative flex-1 py-1.5" role="columnheader" aria-label="Time">
          {ticks.map((t) => (
            <span key={t} className="absolute -translate-x-1/2" style={{ left: `calc(${t * 100}% * 0.92 + 2%)` }}>
              {fmtMs(total * t)}
            </span>
          ))}
          &nbsp;
        </div>
        <div className="w-40 shrink-0 px-3 py-1.5 text-right" role="columnheader">
          Latency · cost
        </div>
      </div>
      {rows.map((r) => {
        const left = (r.startMs / total) * 92 + 2;
        const width = Math.max((r.latencyMs / total) * 92, 0.4);
        const isOpen = open === r.id;
        return (
          <div key={r.id} className="border-b last:border-b-0" role="row" data-testid={`step-${r.id}`}>
            <button className="flex w-full items-center text-left hover:bg-accent/40 focus-visible:outline-2 focus-visible:outline-ring cursor-pointer" onClick={() => setOpen(isOpen ? null : r.id)} aria-expanded={isOpen}>
              <div className="w-64 shrink-0 px-3 py-2" role="cell">
                <div className="flex items-center gap-1.5">
                  <span className={cn("h-2 w-2 shrink-0 rounded-full", barColor[r.status] ?? "bg-muted-foreground/30")} aria-hidden />
                  <span className="truncate text-xs font-medium">{r.title}</span>
                </div>
                {r.subtitle && <div className="truncate pl-3.5 text-[11px] text-muted-foreground">{r.subtitle}</div>}
              </div>
              <div className="relative h-8 flex-1" role="cell">
                <div className="absolute inset-y-0 left-[2%] right-[6%] border-l border-dashed border-border" aria-hidden />
                <div className={cn("absolute top-1/2 h-3 -translate-y-1/2 rounded-sm", barColor[r.status] ?? "bg-primary")} style={{ left: `${left}%`, width: `${width}%` }} title={`${r.status}: starts at ${fmtMs(r.startMs)}, takes ${fmtMs(r.latencyMs)}`} />
              </div>
              <div className="w-40 shrink-0 px-3 py-2 text-right text-xs tabular-nums" role="cell">
                <div>{r.status === "skipped" ? <span className="text-muted-foreground">skipped</span> : fmtMs(r.latencyMs)}</div>
                {r.extra && <div className="text-[11px] text-muted-foreground">{r.extra}</div>}
              </div>
            </button>
            {isOpen && r.details && <div className="border-t bg-muted/20 px-3 py-3">{r.details}</div>}
          </div>
        );
      })}
    </div>
  );
}

function StepDetails({ s }: { s: StepRecord }) {
  return (
    <div className="grid gap-3">
      <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-xs sm:grid-cols-4">
        <div>
          <dt className="text-muted-foreground">Type</dt>
          <dd>{s.type}</dd>
        </div>
        <div>
          <dt className="text-muted-foreground">Starts at</dt>
          <dd className="tabular-nums">{fmtMs(s.startMs)}</dd>
        </div>
        {s.model && (
          <div>
            <dt className="text-muted-foreground">Model · served by</dt>
            <dd className="font-mono">
              {s.model}
              {s.servedBy && s.servedBy !== s.model ? ` → ${s.servedBy}` : ""}
            </dd>
          </div>
        )}
        {(s.inputTokens || s.outputTokens) && (
          <div>
            <dt className="text-muted-foreground">Tokens in / out</dt>
            <dd className="tabular-nums">
              {fmtInt(s.inputTokens ?? 0)} / {fmtInt(s.outputTokens ?? 0)}
            </dd>
          </div>
        )}
        {s.fallback && (
          <div>
            <dt className="text-muted-foreground">Fallback</dt>
            <dd>{s.fallback}</dd>
          </div>
        )}
        {s.retries ? (
          <div>
            <dt className="text-muted-foreground">Retries</dt>
            <dd>{s.retries}</dd>
          </div>
        ) : null}
        {s.result !== undefined && (
          <div>
            <dt className="text-muted-foreground">Condition</dt>
            <dd className="font-mono">{String(s.result)}</dd>
          </div>
        )}
        {s.route && (
          <div>
            <dt className="text-muted-foreground">Route</dt>
            <dd className="font-mono">{s.route}</dd>
          </div>
        )}
        {s.invocation && (
          <div>
            <dt className="text-muted-foreground">Model call</dt>
            <dd>
              <Link to={`/executions/${encodeURIComponent(s.invocation)}`} className="inline-flex items-center gap-0.5 font-mono text-primary hover:underline">
                {s.invocation.slice(0, 12)}… <ArrowSquareOut size={11} aria-hidden />
              </Link>
            </dd>
          </div>
        )}
      </dl>
      {s.error && <p className="rounded bg-destructive/10 px-2 py-1.5 text-xs text-destructive">{s.error}</p>}
      <div className="grid gap-3 lg:grid-cols-2">
        <div>
          <div className="mb-1 text-[11px] text-muted-foreground">Input</div>
          <CodeBlock value={s.input ?? "(none)"} maxHeight="max-h-56" />
        </div>
        <div>
          <div className="mb-1 text-[11px] text-muted-foreground">Output</div>
          <CodeBlock value={s.output ?? "(none)"} maxHeight="max-h-56" />
        </div>
      </div>
    </div>
  );
}

function PipelineView({ x }: { x: PipelineExecution }) {
  const rows: WaterfallRow[] = x.steps.map((s) => ({
    id: s.id,
    title: s.label || s.id,
    subtitle: [s.type, s.model, s.servedBy && s.servedBy !== s.model ? `served by ${s.servedBy}` : ""].filter(Boolean).join(" · "),
    status: s.status,
    startMs: s.startMs,
    latencyMs: s.latencyMs,
    extra: s.costUsd ? `${fmtUsd(s.costUsd)} · ${fmtInt((s.inputTokens ?? 0) + (s.outputTokens ?? 0))} tok` : undefined,
    details: <StepDetails s={s} />,
  }));
  return (
    <div className="grid gap-4">
      {x.error && (
        <p role="alert" className="rounded-md border border-destructive/30 bg-destructive/5 px-3 py-2 text-sm text-destructive">
          {x.failedStep ? <strong>{x.failedStep}: </strong> : null}
          {x.error}
        </p>
      )}
      <section>
        <h2 className="mb-2 text-sm font-semibold">Timeline</h2>
        <Waterfall rows={rows} totalMs={x.latencyMs} />
        <p className="mt-1 text-[11px] text-muted-foreground">Click a step for its input and output.</p>
      </section>
      <section className="grid gap-3 lg:grid-cols-2">
        <div>
          <h2 className="mb-2 text-sm font-semibold">Input</h2>
          <CodeBlock value={x.input ?? "(none)"} />
        </div>
        <div>
          <h2 className="mb-2 text-sm font-semibold">Output</h2>
          <CodeBlock value={x.output ?? "(none)"} />
        </div>
      </section>
    </div>
  );
}

function InvocationView({ r }: { r: Invocation }) {
  const timeline = placeAttempts(r.attempts ?? []);
  const rows: WaterfallRow[] = timeline.placed.map(({ attempt: a, startMs, latencyMs }, i) => ({
    id: `attempt-${i}`,
    title: `Attempt ${i + 1}: ${a.model}`,
    subtitle: [a.provider, a.upstream].filter(Boolean).join(" · "),
    status: a.error || (a.status && a.status >= 400) ? "error" : "ok",
    startMs,
    latencyMs,
    extra: a.status ? `HTTP ${a.status}` : "no answer",
    details: a.error ? <p className="text-xs text-destructive">{a.error}</p> : undefined,
  }));
  const facts: [string, ReactNode][] = [
    ["Operation", r.op],
    ["Asked for", <span className="font-mono">{r.model}</span>],
    ["Served by", <span className="font-mono">{r.servedBy ?? "—"}</span>],
    ["Provider", r.provider ?? "—"],
    ["HTTP status", r.httpStatus || "—"],
    ["Upstream latency", fmtMs(r.upstreamLatencyMs)],
    ["First byte", r.firstByteMs ? fmtMs(r.firstByteMs) : "—"],
    ["Stream", r.stream ? "yes" : "no"],
    ["Cache", r.cache ?? "—"],
    ["Retries", r.retries ?? 0],
    ["Fallback", r.fallback ?? "—"],
  ];
  return (
    <div className="grid gap-4">
      {r.error && (
        <p role="alert" className="rounded-md border border-destructive/30 bg-destructive/5 px-3 py-2 text-sm text-destructive">
          {r.errorKind ? <strong>{r.errorKind}: </strong> : null}
          {r.error}
        </p>
      )}
      {r.execution && (
        <p className="text-sm">
          Made by step <code className="font-mono">{r.step}</code> of pipeline <code className="font-mono">{r.pipeline}</code>:{" "}
          <Link to={`/executions/${encodeURIComponent(r.execution)}`} className="text-primary hover:underline">
            open the run
          </Link>
        </p>
      )}
      <dl className="grid grid-cols-2 gap-x-6 gap-y-2 rounded-lg border bg-card p-3 text-sm sm:grid-cols-4">
        {facts.map(([k, v]) => (
          <div key={k}>
            <dt className="text-[11px] text-muted-foreground">{k}</dt>
            <dd className="truncate">{v}</dd>
          </div>
        ))}
      </dl>
      {rows.length > 0 && (
        <section>
          <h2 className="mb-2 text-sm font-semibold">Upstream attempts</h2>
          {/* The axis spans the attempts, not the whole call: on the call's own latency, which
              includes the unrecorded waits, short attempts would all sit at 0. */}
          <Waterfall rows={rows} totalMs={timeline.spanMs} />
          {!timeline.measured && rows.length > 1 && (
            <p className="mt-1 text-[11px] text-muted-foreground" data-testid="attempts-note">
              Drawn one after the other: this record (older than the gateway's recording of start times) says how long each attempt took, not when it started, so the waits between retries are not shown (the whole call took {fmtMs(r.latencyMs)}).
            </p>
          )}
        </section>
      )}
    </div>
  );
}

export function ExecutionDetailPage() {
  const { id } = useParams();
  const [poll, setPoll] = useState<number | undefined>(undefined);
  const rec = useApi(
    async (signal) => {
      const r = await api.getExecution(id, { signal });
      setPoll(r.status === "running" ? 1000 : undefined);
      return r;
    },
    [id],
    poll,
  );
  const r = rec.data;
  return (
    <Page>
      <Button variant="ghost" size="sm" asChild className="-ml-2 mb-2">
        <Link to="/executions">
          <CaretLeft size={14} aria-hidden /> Executions
        </Link>
      </Button>
      {rec.error && !r ? (
        <ErrorState title="Cannot load this execution" error={rec.error} onRetry={rec.reload} />
      ) : !r ? (
        <LoadingBlock rows={3} label="Loading the execution" />
      ) : (
        <>
          <PageHeader
            title={recordTitle(r)}
            description={
              <span className="inline-flex flex-wrap items-center gap-2">
                {r.kind === "pipeline" ? <Badge variant="primary">pipeline run</Badge> : <Badge variant="outline">model call · {r.op}</Badge>}
                <RunStatusBadge status={r.status} />
                <span>{fmtTime(r.time)}</span>
                {nodeOf(r) && <span className="font-mono text-xs" title="The cluster node that ran it">on {nodeOf(r)}</span>}
                <span className="font-mono text-xs">{r.id}</span>
                <CopyButton text={r.id} label="Copy id" />
                <TraceId traceId={r.traceId} />
              </span>
            }
            actions={
              r.kind === "pipeline" ? (
                <Button variant="outline" size="sm" asChild>
                  <Link to={`/pipelines/${encodeURIComponent(r.pipeline)}`}>Open pipeline</Link>
                </Button>
              ) : undefined
            }
          />
          <div className="mb-4 grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6">
            <Metric label="Latency">{fmtMs(r.latencyMs)}</Metric>
            <Metric label="Input tokens">{fmtInt(r.inputTokens)}</Metric>
            <Metric label="Output tokens">{fmtInt(r.outputTokens)}</Metric>
            <Metric label="Cost">{fmtUsd(r.costUsd)}</Metric>
            <Metric label="Key">{r.key || (r.kind === "invocation" && r.op === "test" ? "console test" : "—")}</Metric>
            <Metric label="Org">{r.org || "—"}</Metric>
          </div>
          {r.kind === "pipeline" ? <PipelineView x={r} /> : <InvocationView r={r} />}
        </>
      )}
    </Page>
  );
}
