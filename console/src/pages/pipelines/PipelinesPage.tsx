import { Copy, FlowArrow, LockSimple, Plus, UploadSimple, WarningCircle } from "@phosphor-icons/react";
import { lazy, Suspense, useState } from "react";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Dialog, DialogBody, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { EmptyState, ErrorState, LoadingBlock, Spinner } from "@/components/ui/states";
import { useToast } from "@/components/ui/toast";
import { Tooltip } from "@/components/ui/tooltip";
import { api } from "@/lib/api";
import { fmtAgo } from "@/lib/format";
import { useApi } from "@/lib/hooks";
import { Link, navigate } from "@/lib/router";
import type { Pipeline } from "@/lib/types";
import { duplicatePipeline } from "./duplicate";
import { IMPORT_KEY } from "./importKey";
import { nodeKinds } from "./kinds";

// The YAML library loads only when someone imports.
const YamlImport = lazy(() => import("./YamlDialog").then((m) => ({ default: m.YamlImport })));

/** Saves a copy of p as a new stored pipeline and opens it in the builder, where it can be edited. */
function DuplicateButton({ p }: { p: Pipeline }) {
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  return (
    <Button
      size="sm"
      variant="ghost"
      aria-label={`Duplicate ${p.name}`}
      title="Save a copy under a new id, and open it in the builder"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          const copy = await duplicatePipeline(p);
          toast("success", `Created ${copy.id}: a copy you can edit`);
          navigate(`/pipelines/${encodeURIComponent(copy.id)}`);
        } catch (e) {
          toast("error", `Cannot duplicate ${p.name}: ${(e as Error).message}`);
          setBusy(false);
        }
      }}
    >
      <Copy size={14} aria-hidden /> {busy ? "Duplicating…" : "Duplicate"}
    </Button>
  );
}

function PipelineCard({ p }: { p: Pipeline }) {
  const models = [...new Set(p.nodes.filter((n) => n.type === "model" && n.data?.model).map((n) => n.data.model!))];
  const counts = p.nodes.reduce<Record<string, number>>((acc, n) => ((acc[n.type] = (acc[n.type] ?? 0) + 1), acc), {});
  const broken = (p.problems?.length ?? 0) > 0;
  return (
    <Card className="flex flex-col p-4" aria-label={p.name}>
      <div className="flex items-start gap-2">
        <div className="min-w-0 flex-1">
          <Link to={`/pipelines/${encodeURIComponent(p.id)}`} className="block truncate text-sm font-semibold hover:underline">
            {p.name}
          </Link>
          <p className="truncate font-mono text-[11px] text-muted-foreground">pipeline:{p.id}</p>
        </div>
        {broken ? (
          <Tooltip content={p.problems!.map((x) => (x.node ? `${x.node}: ` : "") + (x.field ? `${x.field}: ` : "") + x.message).join("\n")}>
            <Badge variant="destructive">
              <WarningCircle size={12} weight="fill" aria-hidden /> cannot run
            </Badge>
          </Tooltip>
        ) : (
          <Badge variant="success">ready</Badge>
        )}
      </div>
      <p className="mt-1 line-clamp-2 min-h-8 text-xs text-muted-foreground">{p.description || "No description"}</p>
      <div className="mt-2 flex flex-wrap gap-1">
        {Object.entries(counts).map(([t, n]) => {
          const K = nodeKinds[t];
          return (
            <Badge key={t} variant="outline" className="font-normal">
              {K && <K.icon size={11} aria-hidden />} {n} {t}
            </Badge>
          );
        })}
        {p.managedBy === "config" && (
          <Badge variant="muted">
            <LockSimple size={11} aria-hidden /> config
          </Badge>
        )}
      </div>
      <p className="mt-2 truncate text-[11px] text-muted-foreground" title={models.join(", ")}>
        {models.length ? `Models: ${models.join(", ")}` : "No model steps"}
      </p>
      <div className="mt-3 flex flex-wrap items-center gap-x-2 gap-y-1">
        <Button size="sm" variant="outline" asChild>
          <Link to={`/pipelines/${encodeURIComponent(p.id)}`}>{p.managedBy === "config" ? "View" : "Open builder"}</Link>
        </Button>
        <Button size="sm" variant="ghost" asChild>
          <Link to={`/executions?kind=pipeline&pipeline=${encodeURIComponent(p.id)}`}>Runs</Link>
        </Button>
        <DuplicateButton p={p} />
        {p.updatedAt && <span className="ml-auto text-[11px] text-muted-foreground">updated {fmtAgo(p.updatedAt)}</span>}
      </div>
    </Card>
  );
}

export function PipelinesPage() {
  const list = useApi((signal) => api.listPipelines({ signal }), [], 15000, ["pipelines"]);
  const [importOpen, setImportOpen] = useState(false);
  return (
    <Page>
      <PageHeader
        title="Pipelines"
        description="Workflows of models, plugins and branches. Apps call each one as the model pipeline:<id>."
        actions={
          <>
            <Button variant="outline" onClick={() => setImportOpen(true)}>
              <UploadSimple size={16} aria-hidden /> Import YAML
            </Button>
            <Button asChild>
              <Link to="/pipelines/new">
                <Plus size={16} aria-hidden /> New pipeline
              </Link>
            </Button>
          </>
        }
      />
      {list.error && !list.data ? (
        <ErrorState title="Cannot load the pipelines" error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingBlock rows={2} label="Loading pipelines" />
      ) : list.data.data.length === 0 ? (
        <EmptyState
          icon={<FlowArrow size={36} />}
          title="No pipelines yet"
          action={
            <Button asChild>
              <Link to="/pipelines/new">
                <Plus size={16} aria-hidden /> Build a pipeline
              </Link>
            </Button>
          }
        >
          Chain models (draft, then edit), branch on a condition, route to the cheapest model, or merge answers — on a canvas.
        </EmptyState>
      ) : (
        <div className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3">
          {list.data.data.map((p) => (
            <PipelineCard key={p.id} p={p} />
          ))}
        </div>
      )}
      <Dialog open={importOpen} onOpenChange={setImportOpen}>
        <DialogContent wide>
          <DialogHeader>
            <DialogTitle>Import a pipeline</DialogTitle>
            <DialogDescription>Opens it in the builder as a new pipeline; nothing is saved until you save it there.</DialogDescription>
          </DialogHeader>
          <DialogBody>
            <Suspense fallback={<Spinner />}>
              <YamlImport
                submitLabel="Open in the builder"
                onImport={(p) => {
                  sessionStorage.setItem(IMPORT_KEY, JSON.stringify(p));
                  setImportOpen(false);
                  navigate("/pipelines/new");
                }}
              />
            </Suspense>
          </DialogBody>
        </DialogContent>
      </Dialog>
    </Page>
  );
}
