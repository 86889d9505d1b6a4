import { Plus, Wrench } from "@phosphor-icons/react";
import { useEffect, useState, type FormEvent } from "react";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { CodeBlock } from "@/components/ui/code";
import { Dialog, DialogBody, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input, Textarea } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { EmptyState, ErrorState, InlineError, LoadingBlock } from "@/components/ui/states";
import type { components } from "@/lib/api.gen";
import { request, type ApiError, type RequestOptions } from "@/lib/api";
import { fmtMs } from "@/lib/format";
import { useApi } from "@/lib/hooks";
import { argumentsOf, fieldsOf, type FieldSpec } from "./schemaForm";
import { buildServer, emptyServerForm, formFromServer, type McpServer, type ServerFormErrors, type ServerFormState } from "./serverForm";

type Schemas = components["schemas"];
export type McpServerView = Schemas["McpServerView"];
export type McpToolView = Schemas["McpToolView"];
export type McpResourceView = Schemas["McpResourceView"];
type ToolCallAnswer = Schemas["ServertoolCallAnswer"];

const mcpApi = {
  servers: (opts?: RequestOptions) => request<{ data: McpServerView[]; total: number }>("GET", "/api/mcp-servers", undefined, opts),
  tools: (id: string, opts?: RequestOptions) => request<{ data: McpToolView[] }>("GET", `/api/mcp-servers/${encodeURIComponent(id)}/tools`, undefined, opts),
  call: (id: string, tool: string, args: Record<string, unknown>) =>
    request<ToolCallAnswer>("POST", `/api/mcp-servers/${encodeURIComponent(id)}/tools/${encodeURIComponent(tool)}/call`, { arguments: args }),
  create: (s: McpServer) => request<McpServerView>("POST", "/api/mcp-servers", s),
  update: (id: string, s: McpServer) => request<McpServerView>("PUT", `/api/mcp-servers/${encodeURIComponent(id)}`, s),
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
  const currentServer = servers.find((s) => s.id === current);
  // The registration form: open for a new server (editing null) or an API-registered one.
  const [form, setForm] = useState<{ open: boolean; editing: McpServerView | null }>({ open: false, editing: null });
  return (
    <Page>
      <PageHeader
        title="MCP servers"
        description={
          <>
            Tool servers the gateway fronts at <code>/mcp</code>: agents see each tool as <code>&lt;server&gt;__&lt;tool&gt;</code>, under their key&apos;s policies.
          </>
        }
        actions={
          <Button onClick={() => setForm({ open: true, editing: null })}>
            <Plus size={14} aria-hidden /> Register a server
          </Button>
        }
      />
      <ServerFormDialog
        open={form.open}
        server={form.editing}
        onOpenChange={(open) => setForm((f) => ({ ...f, open }))}
        onSaved={(s) => {
          setSelected(s.id);
          list.reload();
        }}
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
                      {s.problem && <div className="mt-0.5 max-w-60 text-[10px] text-destructive">{s.problem}</div>}
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
          {current && currentServer && (
            <div className="grid content-start gap-4">
              {currentServer.managedBy === "api" && (
                <div className="flex justify-end">
                  <Button variant="outline" size="sm" onClick={() => setForm({ open: true, editing: currentServer })}>
                    Edit {currentServer.id}
                  </Button>
                </div>
              )}
              <ServerTools key={current} id={current} />
              <ServerResources server={currentServer} />
            </div>
          )}
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

function ServerResources({ server }: { server: McpServerView }) {
  const resources = server.resources ?? [];
  return (
    <div className="rounded-lg border bg-card">
      <ul className="divide-y text-sm" aria-label={`Resources of ${server.id}`}>
        {resources.map((r) => (
          <li key={r.uri} className="px-3 py-2">
            <div className="flex items-center gap-2">
              <span className="font-mono text-xs">{r.name}</span>
              {r.template && <Badge variant="muted">template</Badge>}
              {r.mimeType && <span className="text-[10px] text-muted-foreground">{r.mimeType}</span>}
            </div>
            <div className="mt-0.5 break-all font-mono text-[10px] text-muted-foreground" title={`The server's own URI: ${r.upstreamUri}`}>
              {r.uri}
            </div>
            {r.description && <div className="mt-0.5 text-xs text-muted-foreground">{r.description}</div>}
          </li>
        ))}
        {resources.length === 0 && <li className="px-3 py-2 text-muted-foreground">No resources.</li>}
      </ul>
    </div>
  );
}

/** Registers a server with a URL, or edits one the API registered; the client secret is write-only. */
function ServerFormDialog({
  open,
  server,
  onOpenChange,
  onSaved,
}: {
  open: boolean;
  server: McpServerView | null;
  onOpenChange: (o: boolean) => void;
  onSaved: (s: McpServerView) => void;
}) {
  const [state, setState] = useState<ServerFormState>(emptyServerForm);
  const [errors, setErrors] = useState<ServerFormErrors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!open) return;
    setState(server ? formFromServer(server) : emptyServerForm);
    setErrors({});
    setFailure(null);
  }, [open, server]);
  const set = <K extends keyof ServerFormState>(k: K, v: ServerFormState[K]) => setState((s) => ({ ...s, [k]: v }));
  const text = (k: keyof ServerFormState) => ({
    id: `mcp-${k}`,
    "aria-label": k,
    value: state[k] as string,
    onChange: (e: { target: { value: string } }) => set(k, e.target.value as never),
    "aria-invalid": !!errors[k],
    disabled: busy,
  });
  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = buildServer(state, server ?? undefined);
    if (!r.ok) {
      setErrors(r.errors);
      setFailure("Some fields need attention.");
      return;
    }
    setBusy(true);
    setFailure(null);
    try {
      onSaved(server ? await mcpApi.update(server.id, r.server) : await mcpApi.create(r.server));
      onOpenChange(false);
    } catch (err) {
      setFailure((err as ApiError).message ?? String(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog open={open} onOpenChange={(o) => !busy && onOpenChange(o)}>
      <DialogContent aria-describedby="mcp-form-desc">
        <form onSubmit={submit} aria-label={server ? `Edit ${server.id}` : "Register an MCP server"} className="flex min-h-0 flex-col">
          <DialogHeader>
            <DialogTitle>{server ? `Edit ${server.id}` : "Register an MCP server"}</DialogTitle>
            <DialogDescription id="mcp-form-desc">A streamable HTTP or SSE endpoint; stdio servers are declared in the config file.</DialogDescription>
          </DialogHeader>
          <DialogBody className="grid gap-3">
            {!server && (
              <Field label="Id" htmlFor="mcp-id" hint="Clients see its tools as <id>__<tool>." error={errors.id} required>
                <Input {...text("id")} />
              </Field>
            )}
            <Field label="Name" htmlFor="mcp-name">
              <Input {...text("name")} />
            </Field>
            <Field label="URL" htmlFor="mcp-url" error={errors.url} required>
              <Input {...text("url")} placeholder="https://mcp.example.com/mcp" />
            </Field>
            <Field label="Transport" htmlFor="mcp-transport">
              <Select id="mcp-transport" aria-label="transport" value={state.transport} onValueChange={(v) => set("transport", v)} options={[{ value: "streamable", label: "streamable HTTP" }, { value: "sse", label: "SSE" }]} />
            </Field>
            <Field label="Security policy" htmlFor="mcp-securityPolicy">
              <Select id="mcp-securityPolicy" aria-label="securityPolicy" value={state.securityPolicy} onValueChange={(v) => set("securityPolicy", v)} options={["public", "organization", "private"].map((p) => ({ value: p, label: p }))} />
            </Field>
            <label className="flex items-center gap-2 text-sm">
              <Checkbox id="mcp-oauth" aria-label="OAuth client credentials" checked={state.oauth} onCheckedChange={(c) => set("oauth", c === true)} disabled={busy} />
              OAuth client credentials
            </label>
            {state.oauth && (
              <div className="grid gap-3 rounded-md border p-3">
                <Field label="Token URL" htmlFor="mcp-tokenUrl" error={errors.tokenUrl} required>
                  <Input {...text("tokenUrl")} placeholder="https://auth.example.com/oauth/token" />
                </Field>
                <Field label="Client id" htmlFor="mcp-clientId" error={errors.clientId} required>
                  <Input {...text("clientId")} />
                </Field>
                <Field
                  label="Client secret"
                  htmlFor="mcp-clientSecret"
                  error={errors.clientSecret}
                  required={!server?.hasClientSecret}
                  hint={server?.hasClientSecret ? "Stored; leave empty to keep it (while the URL and the token URL keep their origins)." : "Write-only: stored encrypted, never shown again."}
                >
                  <Input {...text("clientSecret")} type="password" autoComplete="new-password" placeholder={server?.hasClientSecret ? "•••••••• (stored)" : ""} />
                </Field>
                <Field label="Scopes" htmlFor="mcp-scopes" hint="Separated by spaces or commas.">
                  <Input {...text("scopes")} />
                </Field>
                <Field label="Audience" htmlFor="mcp-audience" hint="Optional: sent to the token endpoint as the audience parameter.">
                  <Input {...text("audience")} />
                </Field>
              </div>
            )}
          </DialogBody>
          <DialogFooter>
            <InlineError message={failure} className="mr-auto max-w-xs py-1.5" />
            <Button variant="outline" type="button" onClick={() => onOpenChange(false)} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" disabled={busy}>
              {busy ? "Saving…" : server ? "Save changes" : "Register"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
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
