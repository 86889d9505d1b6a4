import { ArrowClockwise, ListChecks, MagnifyingGlass, X } from "@phosphor-icons/react";
import { useEffect, useMemo, useState } from "react";
import { RunStatusBadge } from "@/components/badges";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { EmptyState, ErrorState, LoadingBlock, Spinner } from "@/components/ui/states";
import { api } from "@/lib/api";
import { fmtAgo, fmtInt, fmtMs, fmtTime, fmtUsd } from "@/lib/format";
import { useApi, useDebounced } from "@/lib/hooks";
import { Link, navigate, useLocation } from "@/lib/router";
import type { ExecutionQuery, ExecutionRecord } from "@/lib/types";

const PAGE = 50;

type Filters = Required<Pick<ExecutionQuery, "kind" | "status" | "pipeline" | "model" | "key" | "org">>;
const FILTER_KEYS: (keyof Filters)[] = ["kind", "status", "pipeline", "model", "key", "org"];

/** The cluster node that made a record, when the listing names it. */
export function nodeOf(r: ExecutionRecord): string | undefined {
  return (r as { node?: string }).node;
}

export function recordTitle(r: ExecutionRecord): string {
  if (r.kind === "pipeline") return r.pipelineName || r.pipeline;
  return r.model;
}

export function ExecutionsPage() {
  const { search } = useLocation();
  const [f, setF] = useState<Filters>(() => {
    const o = {} as Filters;
    for (const k of FILTER_KEYS) (o as Record<string, string>)[k] = search.get(k) ?? "";
    return o;
  });
  const typed = useDebounced({ key: f.key, org: f.org }, 300);
  const query = useMemo<ExecutionQuery>(() => ({ kind: f.kind, status: f.status, pipeline: f.pipeline, model: f.model, key: typed.key.trim(), org: typed.org.trim(), limit: PAGE }), [f.kind, f.status, f.pipeline, f.model, typed]);
  const [extra, setExtra] = useState<ExecutionRecord[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [more, setMore] = useState<{ busy: boolean; error?: string }>({ busy: false });

  // The first page refreshes by itself while no further page is loaded.
  const first = useApi((signal) => api.listExecutions(query, { signal }), [JSON.stringify(query)], extra.length ? undefined : 10_000);
  useEffect(() => {
    setExtra([]);
    setNext(undefined);
  }, [JSON.stringify(query)]);
  useEffect(() => {
    if (!extra.length) setNext(first.data?.next || undefined);
  }, [first.data, extra.length]);

  useEffect(() => {
    const q = new URLSearchParams();
    for (const k of FILTER_KEYS) if (f[k]) q.set(k, f[k]);
    const s = q.toString();
    const to = `/executions${s ? `?${s}` : ""}`;
    if (to !== window.location.pathname + window.location.search) window.history.replaceState(null, "", to);
  }, [f]);

  const pipelines = useApi((signal) => api.listPipelines({ signal }), []);
  const models = useApi((signal) => api.listModels({ sort: "name" }, { signal }), []);

  const rows = [...(first.data?.data ?? []), ...extra];
  // A cluster's listing names the node of each record: then a column shows it.
  const showNode = rows.some((r) => nodeOf(r));
  const active = FILTER_KEYS.some((k) => f[k]);
  const set = <K extends keyof Filters>(k: K, v: Filters[K]) => setF((x) => ({ ...x, [k]: v }));

  async function loadMore() {
    if (!next) return;
    setMore({ busy: true });
    try {
      const page = await api.listExecutions({ ...query, before: next });
      setExtra((x) => [...x, ...page.data]);
      setNext(page.next || undefined);
      setMore({ busy: false });
    } catch (e) {
      setMore({ busy: false, error: (e as Error).message });
    }
  }

  return (
    <Page>
      <PageHeader
        title="Executions"
        description="Pipeline runs and model invocations, most recent first."
        actions={
          <Button
            variant="outline"
            onClick={() => {
              setExtra([]);
              first.reload();
            }}
          >
            <ArrowClockwise size={15} aria-hidden /> Refresh
          </Button>
        }
      />
      <section aria-label="Filters" className="mb-4 flex flex-wrap items-end gap-2 rounded-lg border bg-card p-3">
        <div className="w-40">
          <Select aria-label="Kind" value={f.kind} onValueChange={(v) => set("kind", v as Filters["kind"])} emptyLabel="Runs and calls" options={[{ value: "pipeline", label: "Pipeline runs" }, { value: "invocation", label: "Model calls" }]} />
        </div>
        <div className="w-32">
          <Select aria-label="Status" value={f.status} onValueChange={(v) => set("status", v as Filters["status"])} emptyLabel="Any status" options={[{ value: "ok", label: "ok" }, { value: "error", label: "error" }]} />
        </div>
        <div className="w-48">
          <Select aria-label="Pipeline" value={f.pipeline} onValueChange={(v) => set("pipeline", v)} emptyLabel="Any pipeline" options={(pipelines.data?.data ?? []).map((p) => ({ value: p.id, label: p.name }))} />
        </div>
        <div className="w-48">
          <Select aria-label="Model" value={f.model} onValueChange={(v) => set("model", v)} emptyLabel="Any model" options={(models.data?.data ?? []).map((m) => ({ value: m.id, label: m.name }))} />
        </div>
        <div className="relative w-40">
          <MagnifyingGlass size={14} className="absolute left-2.5 top-1/2 -translate-y-1/2 text-muted-foreground" aria-hidden />
          <Input className="pl-8" placeholder="Key" aria-label="Key name or id" value={f.key} onChange={(e) => set("key", e.target.value)} />
        </div>
        <div className="w-32">
          <Input placeholder="Org" aria-label="Organization" value={f.org} onChange={(e) => set("org", e.target.value)} />
        </div>
        {active && (
          <Button variant="ghost" onClick={() => setF({ kind: "", status: "", pipeline: "", model: "", key: "", org: "" })}>
            <X size={14} aria-hidden /> Clear
          </Button>
        )}
      </section>

      {first.error && !first.data ? (
        <ErrorState title="Cannot load executions" error={first.error} onRetry={first.reload} />
      ) : !first.data ? (
        <LoadingBlock rows={4} label="Loading executions" />
      ) : rows.length === 0 ? (
        <EmptyState icon={<ListChecks size={36} />} title={active ? "Nothing matches these filters" : "No executions yet"}>
          {active ? "Try a wider filter." : "Calls to models and pipeline runs show up here as they happen. Test a model from the registry to make one."}
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg border bg-card">
          <table className="w-full text-sm" aria-label="Executions">
            <thead className="border-b bg-muted/50 text-left text-xs text-muted-foreground">
              <tr>
                <th className="px-3 py-2 font-medium">When</th>
                <th className="px-3 py-2 font-medium">Kind</th>
                <th className="px-3 py-2 font-medium">Pipeline / model</th>
                <th className="px-3 py-2 font-medium">Status</th>
                <th className="px-3 py-2 text-right font-medium">Latency</th>
                <th className="px-3 py-2 text-right font-medium">Tokens</th>
                <th className="px-3 py-2 text-right font-medium">Cost</th>
                <th className="px-3 py-2 font-medium">Key · org</th>
                {showNode && <th className="px-3 py-2 font-medium">Node</th>}
              </tr>
            </thead>
            <tbody className="divide-y">
              {rows.map((r) => (
                <tr key={r.id} className="cursor-pointer hover:bg-accent/50" onClick={() => navigate(`/executions/${encodeURIComponent(r.id)}`)} data-testid={`execution-${r.id}`}>
                  <td className="whitespace-nowrap px-3 py-2 text-xs" title={fmtTime(r.time)}>
                    {fmtAgo(r.time)}
                  </td>
                  <td className="px-3 py-2">
                    {r.kind === "pipeline" ? <Badge variant="primary">pipeline</Badge> : <Badge variant="outline">{r.op}</Badge>}
                  </td>
                  <td className="max-w-80 px-3 py-2">
                    <Link to={`/executions/${encodeURIComponent(r.id)}`} className="block truncate font-medium hover:underline" onClick={(e) => e.stopPropagation()}>
                      {recordTitle(r)}
                    </Link>
                    <div className="truncate text-[11px] text-muted-foreground">
                      {r.kind === "pipeline"
                        ? `${r.steps?.length ?? 0} steps${r.failedStep ? ` · failed at ${r.failedStep}` : ""}`
                        : [r.servedBy && r.servedBy !== r.model ? `served by ${r.servedBy}` : r.provider, r.pipeline ? `in pipeline ${r.pipeline}` : "", r.error].filter(Boolean).join(" · ")}
                    </div>
                  </td>
                  <td className="px-3 py-2">
                    <RunStatusBadge status={r.status} />
                  </td>
                  <td className="px-3 py-2 text-right tabular-nums">{fmtMs(r.latencyMs)}</td>
                  <td className="px-3 py-2 text-right tabular-nums">{fmtInt((r.inputTokens ?? 0) + (r.outputTokens ?? 0))}</td>
                  <td className="px-3 py-2 text-right tabular-nums">{fmtUsd(r.costUsd)}</td>
                  <td className="px-3 py-2 text-xs text-muted-foreground">{[r.key, r.org].filter(Boolean).join(" · ") || (r.kind === "invocation" && r.op === "test" ? "console test" : "—")}</td>
                  {showNode && <td className="whitespace-nowrap px-3 py-2 font-mono text-xs text-muted-foreground">{nodeOf(r) || "—"}</td>}
                </tr>
              ))}
            </tbody>
          </table>
          <div className="flex items-center justify-between border-t px-3 py-2 text-xs text-muted-foreground">
            <span>
              {rows.length} shown{first.error ? ` · refresh failed: ${first.error.message}` : ""}
              {first.data?.clusterError ? ` · ${first.data.clusterError}` : ""}
            </span>
            {more.error && <span className="text-destructive">{more.error}</span>}
            {next ? (
              <Button size="sm" variant="outline" onClick={() => void loadMore()} disabled={more.busy}>
                {more.busy ? <Spinner label="Loading" /> : "Load more"}
              </Button>
            ) : (
              <span>End of the history</span>
            )}
          </div>
        </div>
      )}
    </Page>
  );
}
