import { Wrench } from "@phosphor-icons/react";
import { useState } from "react";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { CodeBlock } from "@/components/ui/code";
import { Input, Textarea } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { EmptyState, ErrorState, InlineError, LoadingBlock } from "@/components/ui/states";
import type { components } from "@/lib/api.gen";
import { request, type RequestOptions } from "@/lib/api";
import { fmtMs } from "@/lib/format";
import { useApi } from "@/lib/hooks";
import { argumentsOf, fieldsOf, type FieldSpec } from "./schemaForm";

type Schemas = components["schemas"];
export type McpServerView = Schemas["McpServerView"];
export type McpToolView = Schemas["McpToolView"];
type ToolCallAnswer = Schemas["ServertoolCallAnswer"];

const mcpApi = {
  servers: (opts?: RequestOptions) => request<{ data: McpServerView[]; total: number }>("GET", "/api/mcp-servers", undefined, opts),
  tools: (id: string, opts?: RequestOptions) => request<{ data: McpToolView[] }>("GET", `/api/mcp-servers/${encodeURIComponent(id)}/tools`, undefined, opts),
  call: (id: string, tool: string, args: Record<string, unknown>) =>
    request<ToolCallAnswer>("POST", `/api/mcp-servers/${encodeURIComponent(id)}/tools/${encodeURIComponent(tool)}/call`, { arguments: args }),
};

function StateBadge({ state }: { state: string }) {
  return <Badge variant={state === "connected" ? "success" : state === "unavailable" ? "destructive" : "warning"}>{state}</Badge>;
}

function where(s: McpServerView): string {
  if (s.url) return `${s.transport ?? "streamable"} · ${s.url}`;
  return `stdio · ${(s.command ?? []).join(" ")}`;
}

/** The MCP servers behind /mcp, their tools, and a form to try one. */
export function McpPage() {
  const list = useApi((signal) => mcpApi.servers({ signal }), [], 10_000);
  // ?server=<id> opens that server (the registry links a tool to its server).
  const [selected, setSelected] = useState<string | null>(() => new URLSearchParams(window.location.search).get("server"));
  const servers = list.data?.data ?? [];
  const current = (selected && servers.some((s) => s.id === selected) ? selected : null) ?? servers[0]?.id ?? null;
  return (
    <Page>
      <PageHeader
        title="MCP servers"
        description={
          <>
            Tool servers the gateway fronts at <code>/mcp</code>: agents see each tool as <code>&lt;server&gt;__&lt;tool&gt;</code>, under their key&apos;s policies.
          </>
        }
      />
      {list.error && !list.data ? (
        <ErrorState title="Cannot load MCP servers" error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <LoadingBlock rows={2} label="Loading MCP servers" />
      ) : servers.length === 0 ? (
        <EmptyState icon={<Wrench size={36} />} title="No MCP servers">
          Add servers under <code>mcpServers:</code> in the config file, or register one with <code>POST /api/mcp-servers</code>.
        </EmptyState>
      ) : (
        <div className="grid gap-4 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
          <div className="overflow-x-auto rounded-lg border bg-card">
            <table className="w-full text-sm" aria-label="MCP servers">
              <thead className="border-b bg-muted/50 text-left text-xs text-muted-foreground">
                <tr>
                  <th className="px-3 py-2 font-medium">Server</th>
                  <th className="px-3 py-2 font-medium">State</th>
                  <th className="px-3 py-2 font-medium">Policy</th>
                  <th className="px-3 py-2 text-right font-medium">Tools</th>
                </tr>
              </thead>
              <tbody className="divide-y">
                {servers.map((s) => (
                  <tr
                    key={s.id}
                    data-testid={`mcp-${s.id}`}
                    className={s.id === current ? "cursor-pointer bg-muted/40" : "cursor-pointer hover:bg-muted/20"}
                    onClick={() => setSelected(s.id)}
                  >
                    <td className="px-3 py-2">
                      <button type="button" className="font-medium hover:underline" onClick={() => setSelected(s.id)}>
                        {s.name || s.id}
                      </button>
                      <div className="max-w-80 truncate font-mono text-[10px] text-muted-foreground" title={where(s)}>
                        {where(s)}
                      </div>
                    </td>
                    <td className="px-3 py-2">
                      <StateBadge state={s.state} />
                    </td>
                    <td className="px-3 py-2 text-xs">
                      {s.securityPolicy}
                      {s.managedBy === "config" && <span className="ml-1 text-muted-foreground">(config)</span>}
                    </td>
                    <td className="px-3 py-2 text-right tabular-nums">{s.exposedTools.length}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {current && <ServerTools key={current} id={current} />}
        </div>
      )}
    </Page>
  );
}

function ServerTools({ id }: { id: string }) {
  const tools = useApi((signal) => mcpApi.tools(id, { signal }), [id]);
  const [tool, setTool] = useState("");
  if (tools.error && !tools.data) return <ErrorState title="Cannot load the tools" error={tools.error} onRetry={tools.reload} />;
  if (!tools.data) return <LoadingBlock rows={3} label="Loading tools" />;
  const visible = tools.data.data.filter((t) => !t.hidden);
  const chosen = visible.find((t) => t.upstreamName === tool) ?? visible[0];
  return (
    <div className="grid gap-4">
      <div className="rounded-lg border bg-card">
        <ul className="divide-y text-sm" aria-label={`Tools of ${id}`}>
          {tools.data.data.map((t) => (
            <li key={t.name} className="px-3 py-2">
              <div className="flex items-center gap-2">
                <span className="font-mono text-xs">{t.name}</span>
                {t.hidden && <Badge variant="muted">hidden by the filter</Badge>}
              </div>
              {t.description && <div className="mt-0.5 text-xs text-muted-foreground">{t.description}</div>}
            </li>
          ))}
          {tools.data.data.length === 0 && <li className="px-3 py-2 text-muted-foreground">No tools yet: the server may still be connecting.</li>}
        </ul>
      </div>
      {chosen && (
        <div className="rounded-lg border bg-card p-4">
          <Field label="Try a tool" htmlFor="mcp-tool">
            <Select id="mcp-tool" aria-label="Tool" value={chosen.upstreamName} onValueChange={setTool} options={visible.map((t) => ({ value: t.upstreamName, label: t.name }))} />
          </Field>
          <ToolForm key={chosen.name} server={id} tool={chosen} />
        </div>
      )}
    </div>
  );
}

function FieldInput({ f, value, onChange }: { f: FieldSpec; value: string | boolean; onChange: (v: string | boolean) => void }) {
  const id = `arg-${f.name}`;
  switch (f.kind) {
    case "boolean":
      return <Checkbox id={id} aria-label={f.name} checked={value === true} onCheckedChange={(c) => onChange(c === true)} />;
    case "enum":
      return <Select id={id} aria-label={f.name} value={String(value)} onValueChange={onChange} emptyLabel={f.required ? undefined : "(none)"} options={(f.options ?? []).map((o) => ({ value: o, label: o }))} />;
    case "json":
      return <Textarea id={id} aria-label={f.name} className="font-mono text-xs" rows={3} value={String(value)} onChange={(e) => onChange(e.target.value)} placeholder="JSON" />;
    default:
      return <Input id={id} aria-label={f.name} inputMode={f.kind === "string" ? undefined : "decimal"} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  }
}

function ToolForm({ server, tool }: { server: string; tool: McpToolView }) {
  const fields = fieldsOf(tool.inputSchema);
  const [values, setValues] = useState<Record<string, string | boolean>>(() => Object.fromEntries(fields.map((f) => [f.name, f.initial])));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [running, setRunning] = useState(false);
  const [answer, setAnswer] = useState<ToolCallAnswer | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const { args, errors } = argumentsOf(fields, values);
    setErrors(errors);
    if (Object.keys(errors).length > 0) return;
    setRunning(true);
    setFailure(null);
    setAnswer(null);
    try {
      setAnswer(await mcpApi.call(server, tool.upstreamName, args));
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setRunning(false);
    }
  };
  return (
    <form className="mt-3 grid gap-3" onSubmit={submit} aria-label={`Call ${tool.name}`}>
      {fields.map((f) => (
        <Field key={f.name} label={f.name} htmlFor={`arg-${f.name}`} hint={f.description} error={errors[f.name]} required={f.required}>
          <FieldInput f={f} value={values[f.name] ?? f.initial} onChange={(v) => setValues((old) => ({ ...old, [f.name]: v }))} />
        </Field>
      ))}
      <div>
        <Button type="submit" disabled={running}>
          {running ? "Calling…" : "Call"}
        </Button>
      </div>
      <InlineError message={failure} />
      {answer && (
        <div className="grid gap-1" data-testid="tool-answer">
          <div className="text-xs text-muted-foreground">
            {(answer.result as { isError?: boolean } | null)?.isError ? "The tool answered with an error" : "Result"} in {fmtMs(answer.latencyMs)}
          </div>
          <CodeBlock value={answer.result} label="Tool result" />
        </div>
      )}
    </form>
  );
}
