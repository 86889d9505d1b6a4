import { BookOpen, MagnifyingGlass } from "@phosphor-icons/react";
import { useMemo, useState } from "react";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { Input } from "@/components/ui/input";
import { EmptyState, ErrorState, LoadingBlock } from "@/components/ui/states";
import { api } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import type { OpenAPIDocument, OpenAPIOperation } from "@/lib/types";
import { cn } from "@/lib/utils";

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
const methodColor: Record<string, string> = {
  get: "bg-sky-100 text-sky-800",
  post: "bg-emerald-100 text-emerald-800",
  put: "bg-amber-100 text-amber-800",
  patch: "bg-amber-100 text-amber-800",
  delete: "bg-red-100 text-red-800",
};

export interface Operation {
  method: string;
  path: string;
  op: OpenAPIOperation;
  group: string;
}

/** The operations of an OpenAPI document, grouped by their first tag (or the path's first segments). */
export function operations(doc: OpenAPIDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!item || typeof item !== "object") continue;
    for (const m of METHODS) {
      const op = (item as Record<string, unknown>)[m] as OpenAPIOperation | undefined;
      if (!op || typeof op !== "object") continue;
      const segs = path.split("/").filter(Boolean);
      const group = op.tags?.[0] ?? (segs[0] === "api" || segs[0] === "v1" ? `/${segs[0]}/${segs[1] ?? ""}` : `/${segs[0] ?? ""}`);
      out.push({ method: m, path, op, group });
    }
  }
  return out;
}

function refName(x: unknown): string | undefined {
  if (!x || typeof x !== "object") return undefined;
  const r = (x as { $ref?: string }).$ref;
  if (r) return r.split("/").pop();
  const s = (x as { schema?: unknown }).schema;
  if (s) return refName(s);
  const c = (x as { content?: Record<string, unknown> }).content;
  if (c) {
    const first = Object.values(c)[0];
    return refName(first);
  }
  const t = (x as { type?: string }).type;
  if (t === "array") return `${refName((x as { items?: unknown }).items) ?? "item"}[]`;
  return t;
}

function OperationRow({ o }: { o: Operation }) {
  const params = o.op.parameters ?? [];
  const body = refName(o.op.requestBody);
  const responses = Object.entries(o.op.responses ?? {});
  const hasMore = params.length > 0 || !!o.op.description || !!body || responses.length > 0;
  const head = (
    <div className="flex min-w-0 flex-1 items-center gap-2">
      <span className={cn("w-16 shrink-0 rounded px-1.5 py-0.5 text-center font-mono text-[11px] font-semibold uppercase", methodColor[o.method] ?? "bg-muted")}>{o.method}</span>
      <code className="shrink-0 font-mono text-sm">{o.path}</code>
      <span className="min-w-0 truncate text-sm text-muted-foreground">{o.op.summary}</span>
      {o.op.deprecated && <Badge variant="warning">deprecated</Badge>}
    </div>
  );
  if (!hasMore) return <li className="flex items-center px-3 py-2">{head}</li>;
  return (
    <li>
      <details className="group">
        <summary className="flex cursor-pointer list-none items-center px-3 py-2 hover:bg-accent/40">{head}</summary>
        <div className="grid gap-2 border-t bg-muted/20 px-3 py-3 pl-[5.5rem] text-sm">
          {o.op.description && <p className="whitespace-pre-wrap text-muted-foreground">{o.op.description}</p>}
          {params.length > 0 && (
            <div>
              <div className="text-xs font-semibold">Parameters</div>
              <ul className="mt-1 space-y-0.5 text-xs">
                {params.map((p, i) => (
                  <li key={i}>
                    <code className="font-mono">{p.name ?? refName(p)}</code> <span className="text-muted-foreground">({p.in}{p.required ? ", required" : ""}{refName(p.schema) ? `, ${refName(p.schema)}` : ""})</span>
                    {p.description && <span> — {p.description}</span>}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {body && (
            <div className="text-xs">
              <span className="font-semibold">Body</span> <code className="font-mono">{body}</code>
            </div>
          )}
          {responses.length > 0 && (
            <div>
              <div className="text-xs font-semibold">Responses</div>
              <ul className="mt-1 space-y-0.5 text-xs">
                {responses.map(([code, r]) => (
                  <li key={code}>
                    <code className="font-mono">{code}</code> {(r as { description?: string })?.description}
                    {refName(r) ? <code className="ml-1 font-mono text-muted-foreground">{refName(r)}</code> : null}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      </details>
    </li>
  );
}

export function ApiReferencePage() {
  const doc = useApi((signal) => api.openapi({ signal }), []);
  const [q, setQ] = useState("");
  const ops = useMemo(() => (doc.data ? operations(doc.data) : []), [doc.data]);
  const shown = ops.filter((o) => {
    const s = q.trim().toLowerCase();
    return !s || o.path.toLowerCase().includes(s) || o.method.includes(s) || (o.op.summary ?? "").toLowerCase().includes(s);
  });
  const groups = [...new Set(shown.map((o) => o.group))];
  const d = doc.data;
  return (
    <Page>
      <PageHeader
        title="API"
        description={d?.info?.title ? `${d.info.title}${d.info.version ? ` · ${d.info.version}` : ""}` : "The admin API and the data plane, from the gateway's OpenAPI document."}
        actions={
          d ? (
            <a className="text-sm text-primary hover:underline" href="/api/openapi.json" onClick={(e) => { e.preventDefault(); const blob = new Blob([JSON.stringify(d, null, 2)], { type: "application/json" }); window.open(URL.createObjectURL(blob), "_blank"); }}>
              openapi.json
            </a>
          ) : undefined
        }
      />
      {doc.error ? (
        <ErrorState title="Cannot load the API description" error={doc.error} onRetry={doc.reload} />
      ) : doc.loading && d === undefined ? (
        <LoadingBlock rows={4} label="Loading the API description" />
      ) : !d ? (
        <EmptyState icon={<BookOpen size={36} />} title="This gateway does not publish an API description">
          <code>GET /api/openapi.json</code> answered 404: the gateway is older than the OpenAPI document. The endpoints are listed in the project's README and design notes.
        </EmptyState>
      ) : ops.length === 0 ? (
        <EmptyState icon={<BookOpen size={36} />} title="The API description lists no paths" />
      ) : (
        <>
          {d.info?.description && <p className="mb-3 max-w-3xl whitespace-pre-wrap text-sm text-muted-foreground">{d.info.description}</p>}
          <div className="relative mb-4 max-w-md">
            <MagnifyingGlass size={15} className="absolute left-2.5 top-1/2 -translate-y-1/2 text-muted-foreground" aria-hidden />
            <Input className="pl-8" type="search" placeholder="Filter paths and summaries" aria-label="Filter paths" value={q} onChange={(e) => setQ(e.target.value)} />
          </div>
          {groups.length === 0 && <p className="text-sm text-muted-foreground">No path matches.</p>}
          <div className="grid gap-4">
            {groups.map((g) => (
              <section key={g} aria-label={g}>
                <h2 className="mb-1.5 text-sm font-semibold">{g}</h2>
                <ul className="divide-y rounded-lg border bg-card">
                  {shown
                    .filter((o) => o.group === g)
                    .map((o) => (
                      <OperationRow key={`${o.method} ${o.path}`} o={o} />
                    ))}
                </ul>
              </section>
            ))}
          </div>
        </>
      )}
    </Page>
  );
}
