import { PuzzlePiece } from "@phosphor-icons/react";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { EmptyState, ErrorState, LoadingBlock } from "@/components/ui/states";
import { api } from "@/lib/api";
import { fmtInt, fmtMs, fmtPct } from "@/lib/format";
import { useApi } from "@/lib/hooks";

function StateBadge({ state }: { state: string }) {
  const ok = /^(ready|running|loaded|serving|ok)$/i.test(state);
  const bad = /(fail|crash|error|dead|stopped|exited)/i.test(state);
  return <Badge variant={ok ? "success" : bad ? "destructive" : "warning"}>{state}</Badge>;
}

export function PluginsPage() {
  const list = useApi((signal) => api.plugins({ signal }), [], 10_000);
  return (
    <Page>
      <PageHeader title="Plugins" description="WASM modules and process plugins the gateway loaded: transforms and provider adapters, with their health and latency." />
      {list.error && !list.data ? (
        <ErrorState title="Cannot load plugins" error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingBlock rows={2} label="Loading plugins" />
      ) : list.data.data.length === 0 ? (
        <EmptyState icon={<PuzzlePiece size={36} />} title="No plugins loaded">
          Add WASM modules or process plugins under <code>plugins:</code> in the config file; models use them as <code>wasm:&lt;name&gt;</code> or <code>plugin:&lt;name&gt;</code>, and pipelines as transform steps.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg border bg-card">
          <table className="w-full text-sm" aria-label="Plugins">
            <thead className="border-b bg-muted/50 text-left text-xs text-muted-foreground">
              <tr>
                <th className="px-3 py-2 font-medium">Name</th>
                <th className="px-3 py-2 font-medium">Kind</th>
                <th className="px-3 py-2 font-medium">Roles</th>
                <th className="px-3 py-2 font-medium">State</th>
                <th className="px-3 py-2 text-right font-medium">Calls</th>
                <th className="px-3 py-2 text-right font-medium">Errors</th>
                <th className="px-3 py-2 text-right font-medium">Mean</th>
                <th className="px-3 py-2 text-right font-medium">p50</th>
                <th className="px-3 py-2 text-right font-medium">p95</th>
                <th className="px-3 py-2 font-medium">Process</th>
              </tr>
            </thead>
            <tbody className="divide-y">
              {list.data.data.map((p) => (
                <tr key={p.name}>
                  <td className="px-3 py-2">
                    <div className="font-medium">{p.name}</div>
                    <div className="max-w-72 truncate font-mono text-[10px] text-muted-foreground" title={p.path}>
                      {p.path}
                    </div>
                  </td>
                  <td className="px-3 py-2">
                    <Badge variant="outline">{p.kind}</Badge>
                    {p.language && <span className="ml-1 text-xs text-muted-foreground">{p.language}</span>}
                  </td>
                  <td className="px-3 py-2 text-xs">{p.roles?.join(", ") || "—"}</td>
                  <td className="px-3 py-2">
                    <StateBadge state={p.state} />
                  </td>
                  <td className="px-3 py-2 text-right tabular-nums">{fmtInt(p.calls)}</td>
                  <td className="px-3 py-2 text-right tabular-nums">
                    {fmtInt(p.errors)}
                    {p.calls > 0 && p.errors > 0 && <span className="ml-1 text-xs text-destructive">({fmtPct(p.errors / p.calls)})</span>}
                  </td>
                  <td className="px-3 py-2 text-right tabular-nums">{p.calls ? fmtMs(p.latencyMs?.mean) : "—"}</td>
                  <td className="px-3 py-2 text-right tabular-nums">{p.calls ? fmtMs(p.latencyMs?.p50) : "—"}</td>
                  <td className="px-3 py-2 text-right tabular-nums">{p.calls ? fmtMs(p.latencyMs?.p95) : "—"}</td>
                  <td className="px-3 py-2 text-xs text-muted-foreground">
                    {p.kind === "process" ? `pid ${p.pid ?? "—"} · ${p.restarts ?? 0} restarts` : "in-process sandbox"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
