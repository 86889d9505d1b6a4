import { HardDrives } from "@phosphor-icons/react";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { EmptyState, ErrorState, LoadingBlock } from "@/components/ui/states";
import { api } from "@/lib/api";
import { fmtAgo, fmtTime, fmtUsd } from "@/lib/format";
import { useApi } from "@/lib/hooks";

/** The nodes that share limits, budgets, keys, pipelines and models through Redis. */
export function ClusterPage() {
  const c = useApi((signal) => api.cluster({ signal }), [], 5_000);
  return (
    <Page>
      <PageHeader title="Cluster" description="Gateways sharing limits, budgets and what the admin API makes through Redis, with their heartbeats." />
      {c.error && !c.data ? (
        <ErrorState title="Cannot load the cluster" error={c.error} onRetry={c.reload} />
      ) : !c.data ? (
        <LoadingBlock rows={2} label="Loading the cluster" />
      ) : !c.data.enabled ? (
        <EmptyState icon={<HardDrives size={36} />} title="This gateway stands alone">
          Set <code>cluster.redis.url</code> in the config file on every node to share limits, budgets, keys, pipelines and models through Redis.
        </EmptyState>
      ) : (
        <div className="space-y-4">
          <div className="flex flex-wrap items-center gap-3 text-sm">
            <span>
              This node: <span className="font-mono">{c.data.nodeId}</span>
            </span>
            <span>
              Redis: <Badge variant={c.data.redis === "up" ? "success" : "destructive"}>{c.data.redis}</Badge>
            </span>
            {c.data.pendingSpendUsd > 0 && <span className="text-warning">{fmtUsd(c.data.pendingSpendUsd)} of spend waits for Redis</span>}
          </div>
          <div className="overflow-x-auto rounded-lg border bg-card">
            <table className="w-full text-sm" aria-label="Nodes">
              <thead className="border-b bg-muted/50 text-left text-xs text-muted-foreground">
                <tr>
                  <th className="px-3 py-2 font-medium">Node</th>
                  <th className="px-3 py-2 font-medium">State</th>
                  <th className="px-3 py-2 font-medium">Last seen</th>
                  <th className="px-3 py-2 font-medium">Version</th>
                  <th className="px-3 py-2 font-medium">Config</th>
                  <th className="px-3 py-2 font-medium">Started</th>
                </tr>
              </thead>
              <tbody className="divide-y">
                {c.data.nodes.map((n) => (
                  <tr key={n.id}>
                    <td className="px-3 py-2 font-mono">
                      {n.id}
                      {n.self && <span className="ml-2 font-sans text-xs text-muted-foreground">(this node)</span>}
                    </td>
                    <td className="px-3 py-2">
                      <Badge variant={n.up ? "success" : "destructive"}>{n.up ? "up" : "down"}</Badge>
                    </td>
                    <td className="px-3 py-2" title={fmtTime(n.lastSeen)}>
                      {fmtAgo(n.lastSeen)}
                    </td>
                    <td className="px-3 py-2">{n.version}</td>
                    <td className="px-3 py-2 font-mono text-xs" title="a hash of the node's config: nodes on the same config show the same">
                      {n.configHash || "—"}
                    </td>
                    <td className="px-3 py-2">{fmtTime(n.startedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </Page>
  );
}
