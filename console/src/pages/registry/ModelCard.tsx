import { Flask, LockSimple, PencilSimple, Trash, Wrench } from "@phosphor-icons/react";
import { ModelStatusBadge, PolicyBadge } from "@/components/badges";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import { Tooltip } from "@/components/ui/tooltip";
import { fmtAgo, fmtCompact, fmtMs, fmtPct, fmtPerMillion } from "@/lib/format";
import { Link } from "@/lib/router";
import type { ModelView } from "@/lib/types";

function Stat({ label, children, title }: { label: string; children: React.ReactNode; title?: string }) {
  return (
    <div className="min-w-0" title={title}>
      <dt className="text-[11px] text-muted-foreground">{label}</dt>
      <dd className="truncate text-sm font-medium tabular-nums">{children}</dd>
    </div>
  );
}

export function costLine(m: ModelView): string {
  const inCost = m.inputCostPerToken ?? m.costPerToken;
  const outCost = m.outputCostPerToken ?? m.costPerToken;
  if (!inCost && !outCost) return "free";
  if (inCost === outCost) return fmtPerMillion(inCost);
  return `${fmtPerMillion(inCost)} in · ${fmtPerMillion(outCost)} out`;
}

export function ModelCard({
  model: m,
  onTest,
  onEdit,
  onDelete,
}: {
  model: ModelView;
  onTest: () => void;
  onEdit: () => void;
  onDelete: () => Promise<void>;
}) {
  const s = m.stats;
  const config = m.managedBy === "config";
  return (
    <Card className="flex flex-col" data-testid={`model-${m.id}`} aria-label={m.name}>
      <div className="flex items-start gap-2 p-4 pb-2">
        <div className="min-w-0 flex-1">
          <h3 className="truncate text-sm font-semibold" title={m.name}>
            {m.name}
          </h3>
          <p className="truncate font-mono text-[11px] text-muted-foreground" title={m.id}>
            {m.id}
            {m.provider ? ` · ${m.provider}` : ""}
            {m.upstreamModel && m.upstreamModel !== m.id ? ` → ${m.upstreamModel}` : ""}
          </p>
        </div>
        <ModelStatusBadge status={m.status} />
      </div>
      <div className="px-4">
        {m.description ? <p className="line-clamp-2 min-h-8 text-xs text-muted-foreground">{m.description}</p> : <p className="min-h-8 text-xs text-muted-foreground/60 italic">No description</p>}
        <div className="mt-2 flex flex-wrap items-center gap-1">
          <Badge variant="default">{m.modelType}</Badge>
          <PolicyBadge policy={m.securityPolicy} org={m.org} allowed={m.allowedKeys} />
          {config && (
            <Tooltip content="Defined in the config file: read-only here. Change the file and reload.">
              <Badge variant="muted">
                <LockSimple size={11} aria-hidden /> config
              </Badge>
            </Tooltip>
          )}
          {m.hasApiKey && <Badge variant="muted">key set</Badge>}
          {(m.tags ?? []).map((t) => (
            <Badge key={t} variant="outline" className="font-normal">
              #{t}
            </Badge>
          ))}
        </div>
      </div>
      <dl className="mx-4 mt-3 grid grid-cols-3 gap-x-3 gap-y-2 border-t pt-3">
        <Stat label="Latency p50 / p95" title={s ? `EWMA ${fmtMs(s.latencyMs)}` : "No traffic yet: the declared latency"}>
          {s && s.requests > 0 ? (
            `${fmtMs(s.p50Ms)} / ${fmtMs(s.p95Ms)}`
          ) : m.latency ? (
            <span className="text-muted-foreground">~{fmtMs(m.latency)}</span>
          ) : (
            <span className="text-muted-foreground">—</span>
          )}
        </Stat>
        <Stat label="Cost">{costLine(m)}</Stat>
        <Stat label="Requests">
          {s ? (
            <>
              {fmtCompact(s.requests)}{" "}
              {s.requests > 0 && (
                <span className={s.successRate < 0.95 ? "text-destructive" : "text-success"}>· {fmtPct(s.successRate, s.successRate === 1 ? 0 : 1)}</span>
              )}
            </>
          ) : (
            <span className="text-muted-foreground">none yet</span>
          )}
        </Stat>
      </dl>
      {s?.lastError ? (
        <p className="mx-4 mt-2 truncate rounded bg-destructive/8 px-2 py-1 text-[11px] text-destructive" title={s.lastError}>
          {fmtAgo(s.lastErrorAt)}: {s.lastError}
        </p>
      ) : s?.lastRequestAt ? (
        <p className="mx-4 mt-2 text-[11px] text-muted-foreground">Last request {fmtAgo(s.lastRequestAt)}</p>
      ) : null}
      {m.managedBy === "mcp" ? (
        // An MCP tool, listed beside the models: tested and configured on its server's page.
        <div className="mt-auto flex items-center gap-1.5 p-3 pt-3">
          <Link to={`/mcp?server=${encodeURIComponent(m.id.split("__")[0])}`} className="inline-flex items-center gap-1.5 rounded-md border px-3 py-1.5 text-xs font-medium hover:bg-accent" aria-label={`Open the MCP server of ${m.id}`}>
            <Wrench size={14} aria-hidden /> MCP server
          </Link>
        </div>
      ) : (
        <div className="mt-auto flex items-center gap-1.5 p-3 pt-3">
          <Button size="sm" onClick={onTest} aria-label={`Test ${m.name}`}>
            <Flask size={14} aria-hidden /> Test
          </Button>
          <Button size="sm" variant="outline" onClick={onEdit} aria-label={config ? `View ${m.name}` : `Edit ${m.name}`}>
            <PencilSimple size={14} aria-hidden /> {config ? "View" : "Edit"}
          </Button>
          {!config && (
            <Confirm
              trigger={
                <Button size="icon" variant="ghost" className="ml-auto text-muted-foreground hover:text-destructive" aria-label={`Delete ${m.name}`}>
                  <Trash size={15} />
                </Button>
              }
              title={`Delete ${m.name}?`}
              description={
                <>
                  Apps calling <code className="font-mono">{m.id}</code> will get “model not found”, and pipelines that use it stop validating. This cannot be undone.
                </>
              }
              onConfirm={onDelete}
            />
          )}
        </div>
      )}
    </Card>
  );
}
