import { ArrowSquareOut } from "@phosphor-icons/react";
import { CopyButton } from "@/components/ui/code";
import { api } from "@/lib/api";
import { useApi } from "@/lib/hooks";

/**
 * The link to a trace in a trace viewer, from the gateway's telemetry.traceUrl, where {traceId}
 * stands for the id; undefined without a template or with an id that is not a W3C trace id.
 */
export function traceHref(template: string | undefined, traceId: string | undefined): string | undefined {
  if (!template || !traceId || !/^[0-9a-f]{32}$/.test(traceId)) return undefined;
  return template.replaceAll("{traceId}", traceId);
}

/** A record's trace id: a link to its trace when the gateway has a traceUrl, else the id to copy. */
export function TraceId({ traceId }: { traceId?: string }) {
  const status = useApi((signal) => api.status({ signal }), []);
  if (!traceId) return null;
  const href = traceHref(status.data?.traceUrl, traceId);
  return (
    <span className="inline-flex items-center gap-1 text-xs" data-testid="trace-id">
      <span className="text-muted-foreground">trace</span>
      {href ? (
        <a href={href} target="_blank" rel="noreferrer" className="inline-flex items-center gap-0.5 font-mono text-primary hover:underline">
          {traceId} <ArrowSquareOut size={11} aria-hidden />
        </a>
      ) : (
        <span className="font-mono">{traceId}</span>
      )}
      <CopyButton text={traceId} label="Copy trace id" />
    </span>
  );
}
