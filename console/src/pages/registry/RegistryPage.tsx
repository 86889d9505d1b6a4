import { ArrowDown, ArrowUp, Cube, FunnelSimple, MagnifyingGlass, Plus, X } from "@phosphor-icons/react";
import { lazy, Suspense, useMemo, useState } from "react";
import { Page, PageHeader } from "@/components/Layout";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { EmptyState, ErrorState, LoadingBlock } from "@/components/ui/states";
import { useToast } from "@/components/ui/toast";
import { api } from "@/lib/api";
import { useApi, useDebounced } from "@/lib/hooks";
import { MODEL_TYPES, POLICIES, SORT_FIELDS, STATUSES, type ModelQuery, type ModelView } from "@/lib/types";
import { ModelCard } from "./ModelCard";

// The dialogs (and Zod) load when first opened.
const ModelFormDialog = lazy(() => import("./ModelFormDialog").then((m) => ({ default: m.ModelFormDialog })));
const TestDialog = lazy(() => import("./TestDialog").then((m) => ({ default: m.TestDialog })));

interface Filters {
  q: string;
  type: string;
  status: string;
  policy: string;
  owner: string;
  tags: string[];
  maxLatencyMs: string;
  maxCostPerMillion: string;
  sort: string;
  desc: boolean;
}

const noFilters: Filters = { q: "", type: "", status: "", policy: "", owner: "", tags: [], maxLatencyMs: "", maxCostPerMillion: "", sort: "name", desc: false };

const sortLabels: Record<string, string> = { name: "Name", id: "Id", latency: "Latency", cost: "Cost", owner: "Owner", status: "Status", type: "Type" };

/** The filters as API query parameters; a bad number is reported instead. */
export function toQuery(f: Filters): { query: ModelQuery; problem?: string } {
  const query: ModelQuery = { q: f.q.trim() || undefined, type: f.type, status: f.status, policy: f.policy, owner: f.owner, tag: f.tags, sort: (f.desc ? "-" : "") + f.sort };
  if (f.maxLatencyMs.trim()) {
    const n = Number(f.maxLatencyMs);
    if (!Number.isFinite(n) || n < 0) return { query, problem: "Max latency must be a non-negative number of milliseconds." };
    query.maxLatencyMs = n;
  }
  if (f.maxCostPerMillion.trim()) {
    const n = Number(f.maxCostPerMillion);
    if (!Number.isFinite(n) || n < 0) return { query, problem: "Max cost must be a non-negative number of dollars." };
    query.maxCostPerToken = n / 1_000_000;
  }
  return { query };
}

export function RegistryPage() {
  const toast = useToast();
  const [f, setF] = useState<Filters>(noFilters);
  const [showMore, setShowMore] = useState(false);
  const debounced = useDebounced(f, 250);
  const { query, problem } = toQuery(debounced);
  const list = useApi((signal) => api.listModels(query, { signal }), [JSON.stringify(query)], 5000);
  // Every model (unfiltered): for the owner and tag choices and the fallback list.
  const all = useApi((signal) => api.listModels({ sort: "name" }, { signal }), [], 15000);

  const [formOpen, setFormOpen] = useState(false);
  const [editing, setEditing] = useState<ModelView | undefined>();
  const [testing, setTesting] = useState<ModelView | undefined>();
  const [testOpen, setTestOpen] = useState(false);

  const owners = useMemo(() => [...new Set((all.data?.data ?? []).map((m) => m.owner).filter(Boolean) as string[])].sort(), [all.data]);
  const tags = useMemo(() => [...new Set((all.data?.data ?? []).flatMap((m) => m.tags ?? []))].sort(), [all.data]);
  const active = JSON.stringify({ ...f, sort: "", desc: false }) !== JSON.stringify({ ...noFilters, sort: "", desc: false });
  const set = <K extends keyof Filters>(k: K, v: Filters[K]) => setF((x) => ({ ...x, [k]: v }));

  const refresh = () => {
    list.reload();
    all.reload();
  };

  return (
    <Page>
      <PageHeader
        title="Registry"
        description="Every model the gateway can route to, with its live status and measured latency."
        actions={
          <Button
            onClick={() => {
              setEditing(undefined);
              setFormOpen(true);
            }}
          >
            <Plus size={16} aria-hidden /> Register model
          </Button>
        }
      />

      <section aria-label="Filters" className="mb-4 rounded-lg border bg-card p-3">
        <div className="flex flex-wrap items-end gap-2">
          <div className="relative min-w-56 flex-1">
            <MagnifyingGlass size={15} className="absolute left-2.5 top-1/2 -translate-y-1/2 text-muted-foreground" aria-hidden />
            <Input className="pl-8" placeholder="Search name, id, description, tags…" aria-label="Search models" value={f.q} onChange={(e) => set("q", e.target.value)} type="search" />
          </div>
          <div className="w-36">
            <Select aria-label="Type" value={f.type} onValueChange={(v) => set("type", v)} options={MODEL_TYPES.map((t) => ({ value: t, label: t }))} emptyLabel="Any type" />
          </div>
          <div className="w-36">
            <Select aria-label="Status" value={f.status} onValueChange={(v) => set("status", v)} options={STATUSES.map((t) => ({ value: t, label: t }))} emptyLabel="Any status" />
          </div>
          <div className="w-36">
            <Select aria-label="Policy" value={f.policy} onValueChange={(v) => set("policy", v)} options={POLICIES.map((t) => ({ value: t, label: t }))} emptyLabel="Any policy" />
          </div>
          <div className="flex items-center gap-1">
            <div className="w-32">
              <Select aria-label="Sort by" value={f.sort} onValueChange={(v) => set("sort", v)} options={SORT_FIELDS.map((s) => ({ value: s, label: `Sort: ${sortLabels[s]}` }))} />
            </div>
            <Button variant="outline" size="icon" className="h-9 w-9" onClick={() => set("desc", !f.desc)} aria-label={f.desc ? "Descending: switch to ascending" : "Ascending: switch to descending"}>
              {f.desc ? <ArrowDown size={15} /> : <ArrowUp size={15} />}
            </Button>
          </div>
          <Button variant={showMore ? "secondary" : "ghost"} onClick={() => setShowMore((s) => !s)} aria-expanded={showMore} aria-controls="more-filters">
            <FunnelSimple size={15} aria-hidden /> More
          </Button>
          {active && (
            <Button variant="ghost" onClick={() => setF({ ...noFilters, sort: f.sort, desc: f.desc })}>
              <X size={14} aria-hidden /> Clear
            </Button>
          )}
        </div>
        {showMore && (
          <div id="more-filters" className="mt-3 grid gap-3 border-t pt-3 md:grid-cols-[12rem_10rem_10rem_1fr]">
            <div className="grid gap-1.5">
              <Label htmlFor="filter-owner">Owner</Label>
              <Select id="filter-owner" value={f.owner} onValueChange={(v) => set("owner", v)} options={owners.map((o) => ({ value: o, label: o }))} emptyLabel="Any owner" />
            </div>
            <div className="grid gap-1.5">
              <Label htmlFor="filter-latency">Max latency (ms)</Label>
              <Input id="filter-latency" inputMode="numeric" value={f.maxLatencyMs} onChange={(e) => set("maxLatencyMs", e.target.value)} placeholder="any" />
            </div>
            <div className="grid gap-1.5">
              <Label htmlFor="filter-cost">Max cost ($ per 1M tokens)</Label>
              <Input id="filter-cost" inputMode="decimal" value={f.maxCostPerMillion} onChange={(e) => set("maxCostPerMillion", e.target.value)} placeholder="any" />
            </div>
            <div className="grid gap-1.5">
              <span className="text-xs font-medium text-foreground/80" id="tag-filter-label">
                Tags (all must match)
              </span>
              <div className="flex flex-wrap gap-1" role="group" aria-labelledby="tag-filter-label">
                {tags.length === 0 && <span className="text-xs text-muted-foreground">No tags yet</span>}
                {tags.map((t) => {
                  const on = f.tags.includes(t);
                  return (
                    <button
                      key={t}
                      type="button"
                      aria-pressed={on}
                      onClick={() => set("tags", on ? f.tags.filter((x) => x !== t) : [...f.tags, t])}
                      className="rounded-full border px-2 py-0.5 text-xs hover:bg-accent aria-pressed:border-primary aria-pressed:bg-primary/10 aria-pressed:text-primary cursor-pointer"
                    >
                      #{t}
                    </button>
                  );
                })}
              </div>
            </div>
          </div>
        )}
      </section>

      {problem ? (
        <ErrorState title="Check the filters" error={new Error(problem)} />
      ) : list.error && !list.data ? (
        <ErrorState title="Cannot load the registry" error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingBlock rows={3} label="Loading models" />
      ) : list.data.data.length === 0 ? (
        active ? (
          <EmptyState icon={<MagnifyingGlass size={36} />} title="No model matches these filters" action={<Button variant="outline" onClick={() => setF({ ...noFilters, sort: f.sort, desc: f.desc })}>Clear filters</Button>} />
        ) : (
          <EmptyState
            icon={<Cube size={36} />}
            title="No models registered yet"
            action={
              <Button onClick={() => setFormOpen(true)}>
                <Plus size={16} aria-hidden /> Register model
              </Button>
            }
          >
            Register an OpenAI-compatible server (vLLM, Ollama, LM Studio…), a cloud API, or add models to the config file.
          </EmptyState>
        )
      ) : (
        <>
          <p className="mb-2 text-xs text-muted-foreground" aria-live="polite">
            {list.data.total} {list.data.total === 1 ? "model" : "models"}
            <span data-testid="stats-source" title={list.data.statsSource === "victoriaMetrics" ? "Requests, errors and latency of every node over the last 24 hours, from VictoriaMetrics" : "Requests, errors and latency as this node sees them"}>
              {" · live numbers of "}
              {list.data.statsSource === "victoriaMetrics" ? "the whole cluster" : "this node"}
            </span>
            {list.error && <span className="text-destructive"> · refresh failed: {list.error.message}</span>}
          </p>
          <div className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3 2xl:grid-cols-4">
            {list.data.data.map((m) => (
              <ModelCard
                key={m.id}
                model={m}
                onTest={() => {
                  setTesting(m);
                  setTestOpen(true);
                }}
                onEdit={() => {
                  setEditing(m);
                  setFormOpen(true);
                }}
                onDelete={async () => {
                  await api.deleteModel(m.id);
                  toast("success", `Deleted ${m.name}`);
                  refresh();
                }}
              />
            ))}
          </div>
        </>
      )}

      <Suspense fallback={null}>
        {(formOpen || editing) && <ModelFormDialog open={formOpen} onOpenChange={setFormOpen} model={editing} models={all.data?.data ?? []} onSaved={refresh} />}
        {testing && <TestDialog model={testing} open={testOpen} onOpenChange={setTestOpen} onDone={list.reload} />}
      </Suspense>
    </Page>
  );
}
