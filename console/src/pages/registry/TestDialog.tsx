import { ArrowsClockwise, CheckCircle, PaperPlaneRight, Trash, WarningCircle } from "@phosphor-icons/react";
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { CodeBlock } from "@/components/ui/code";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Dialog, DialogBody, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input, Textarea } from "@/components/ui/input";
import { Field, Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { InlineError, Spinner } from "@/components/ui/states";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { Badge } from "@/components/ui/badge";
import { api } from "@/lib/api";
import { fmtInt, fmtMs, fmtUsd } from "@/lib/format";
import { parseJSON } from "@/lib/jsonschema";
import type { ModelView, TestReport } from "@/lib/types";
import { buildBody, fieldsFromSchema, type ChatMessage, type FieldSpec } from "./schemaForm";

function Metric({ label, value }: { label: string; value: string }) {
  return (
    <div className="rounded-md border bg-card px-3 py-2">
      <div className="text-[11px] text-muted-foreground">{label}</div>
      <div className="text-sm font-semibold tabular-nums">{value}</div>
    </div>
  );
}

export function ReportView({ report }: { report: TestReport }) {
  return (
    <section aria-label="Test result" className="grid gap-3" data-testid="test-report">
      <div className="flex flex-wrap items-center gap-2">
        {report.ok ? (
          <Badge variant="success" className="text-xs">
            <CheckCircle size={13} weight="fill" aria-hidden /> OK · {report.status}
          </Badge>
        ) : (
          <Badge variant="destructive" className="text-xs">
            <WarningCircle size={13} weight="fill" aria-hidden /> Failed · {report.status || "no answer"}
          </Badge>
        )}
        {report.servedBy && report.servedBy !== report.model && <Badge variant="warning">served by fallback {report.servedBy}</Badge>}
        <span className="ml-auto font-mono text-[11px] text-muted-foreground">request {report.requestId}</span>
      </div>
      <div className="grid grid-cols-2 gap-2 sm:grid-cols-5">
        <Metric label="Latency" value={fmtMs(report.latencyMs)} />
        <Metric label="Upstream" value={fmtMs(report.upstreamLatencyMs)} />
        <Metric label="Tokens in / out" value={`${fmtInt(report.tokens?.input)} / ${fmtInt(report.tokens?.output)}`} />
        <Metric label="Total tokens" value={fmtInt(report.tokens?.total)} />
        <Metric label="Cost" value={fmtUsd(report.costUsd)} />
      </div>
      {report.error && (
        <div role="alert" className="rounded-md border border-destructive/30 bg-destructive/5 p-3 text-sm">
          <div className="font-medium text-destructive">{report.error.type}{report.error.code ? ` · ${report.error.code}` : ""}</div>
          <div className="mt-0.5 break-words">{report.error.message}</div>
        </div>
      )}
      {report.ok && (
        <div>
          <Label>Output</Label>
          <div className="mt-1 max-h-56 overflow-auto whitespace-pre-wrap rounded-md border bg-card p-3 text-sm" data-testid="test-output">
            {report.output || <span className="text-muted-foreground">(no text: see the raw response)</span>}
          </div>
        </div>
      )}
      <details className="group rounded-md border">
        <summary className="cursor-pointer select-none px-3 py-2 text-xs font-medium">Raw request and response</summary>
        <div className="grid gap-2 p-3 pt-0 lg:grid-cols-2">
          <div>
            <div className="mb-1 text-[11px] text-muted-foreground">Request</div>
            <CodeBlock value={report.request ?? "(not JSON)"} label="Raw request" />
          </div>
          <div>
            <div className="mb-1 text-[11px] text-muted-foreground">Response</div>
            <CodeBlock value={report.response ?? (report.error ? { error: report.error } : "")} label="Raw response" />
          </div>
        </div>
      </details>
    </section>
  );
}

function SchemaField({ f, value, onChange, error }: { f: FieldSpec; value: string | boolean | undefined; onChange: (v: string | boolean) => void; error?: string }) {
  const id = `test-field-${f.name}`;
  const hint = f.description;
  if (f.kind === "boolean")
    return (
      <div className="flex items-center gap-2">
        <Checkbox id={id} checked={value === true} onCheckedChange={(c) => onChange(c === true)} />
        <Label htmlFor={id}>{f.label}</Label>
        {hint && <span className="text-xs text-muted-foreground">{hint}</span>}
      </div>
    );
  return (
    <Field label={f.label} htmlFor={id} required={f.required} hint={hint ?? (f.kind === "json" ? "JSON" : undefined)} error={error}>
      {f.kind === "enum" ? (
        <Select id={id} value={(value as string) ?? ""} onValueChange={onChange} options={(f.options ?? []).map((o) => ({ value: o, label: o }))} emptyLabel={f.required ? undefined : "(none)"} placeholder="Choose…" />
      ) : f.kind === "text" || f.kind === "json" ? (
        <Textarea id={id} value={(value as string) ?? ""} onChange={(e) => onChange(e.target.value)} rows={f.kind === "json" ? 4 : 3} className={f.kind === "json" ? "font-mono text-xs" : ""} aria-invalid={!!error} />
      ) : (
        <Input
          id={id}
          value={(value as string) ?? ""}
          onChange={(e) => onChange(e.target.value)}
          inputMode={f.kind === "number" || f.kind === "integer" ? "decimal" : undefined}
          placeholder={f.min !== undefined || f.max !== undefined ? `${f.min ?? ""}…${f.max ?? ""}` : undefined}
          aria-invalid={!!error}
        />
      )}
    </Field>
  );
}

type Mode = "chat" | "form" | "raw";

/** One click on a model: build a request (from its inputSchema, or as a chat), send it, see how it went. */
export function TestDialog({ model, open, onOpenChange, onDone }: { model?: ModelView; open: boolean; onOpenChange: (o: boolean) => void; onDone?: () => void }) {
  const fields = useMemo(() => fieldsFromSchema(model?.inputSchema), [model]);
  const embedding = model?.modelType === "embedding";
  const hasMessages = !!fields?.some((f) => f.kind === "messages");
  const params = useMemo(() => (fields ?? []).filter((f) => f.kind !== "messages"), [fields]);
  const initialMode: Mode = fields && !hasMessages ? "form" : "chat";

  const [mode, setMode] = useState<Mode>(initialMode);
  const [history, setHistory] = useState<ChatMessage[]>([]);
  const [system, setSystem] = useState("");
  const [draft, setDraft] = useState("");
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [raw, setRaw] = useState("");
  const [report, setReport] = useState<TestReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    if (!open) {
      abort.current?.abort();
      return;
    }
    setMode(initialMode);
    setHistory([]);
    setSystem("");
    setDraft("");
    const init: Record<string, string | boolean> = {};
    for (const f of fields ?? []) if (f.defaultValue !== undefined) init[f.name] = typeof f.defaultValue === "boolean" ? f.defaultValue : typeof f.defaultValue === "string" ? f.defaultValue : JSON.stringify(f.defaultValue);
    setValues(init);
    setFieldErrors({});
    setRaw(JSON.stringify(embedding ? { input: "hello world" } : { messages: [{ role: "user", content: "Say hello in five words." }] }, null, 2));
    setReport(null);
    setError(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open, model?.id]);

  function chatBody(): { body?: unknown; next?: ChatMessage[] } {
    const text = draft.trim();
    if (embedding) {
      if (!text) return {};
      return { body: { input: text } };
    }
    if (!text) return {};
    const next: ChatMessage[] = [...history, { role: "user", content: text }];
    const messages = system.trim() ? [{ role: "system" as const, content: system.trim() }, ...next] : next;
    const b = buildBody(params, values);
    if (Object.keys(b.errors).length) {
      setFieldErrors(b.errors);
      return {};
    }
    return { body: { ...(b.body ?? {}), messages }, next };
  }

  async function send(e?: FormEvent) {
    e?.preventDefault();
    if (!model || busy) return;
    setError(null);
    setFieldErrors({});
    let body: unknown;
    let next: ChatMessage[] | undefined;
    if (mode === "chat") {
      const r = chatBody();
      if (!r.body) {
        if (!draft.trim()) setError(embedding ? "Type a text to embed." : "Type a message.");
        return;
      }
      body = r.body;
      next = r.next;
    } else if (mode === "form") {
      const r = buildBody(fields ?? [], values, history.length ? history : draft.trim() ? [{ role: "user", content: draft.trim() }] : []);
      if (Object.keys(r.errors).length) {
        setFieldErrors(r.errors);
        return;
      }
      body = r.body;
    } else {
      if (!raw.trim()) body = undefined;
      else {
        const p = parseJSON(raw);
        if (p.error) {
          setError(p.error);
          return;
        }
        body = p.value;
      }
    }
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setBusy(true);
    try {
      const rep = await api.testModel(model.id, body, { signal: ctl.signal });
      setReport(rep);
      if (next) {
        setHistory(rep.ok && !embedding ? [...next, { role: "assistant", content: rep.output ?? "" }] : next);
        setDraft("");
      }
      onDone?.();
    } catch (err) {
      if ((err as Error).name !== "AbortError") setError((err as Error).message);
    } finally {
      if (abort.current === ctl) setBusy(false);
    }
  }

  if (!model) return null;
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent wide aria-describedby="test-desc">
        <DialogHeader>
          <DialogTitle>Test {model.name}</DialogTitle>
          <DialogDescription id="test-desc">
            Sends a real request through the gateway to <code className="font-mono">{model.id}</code> (with its retries and fallbacks). It is recorded like any call.
          </DialogDescription>
        </DialogHeader>
        <DialogBody className="grid gap-4">
          <Tabs value={mode} onValueChange={(v) => setMode(v as Mode)}>
            <TabsList aria-label="How to build the request">
              <TabsTrigger value="chat">{embedding ? "Text" : "Chat"}</TabsTrigger>
              {fields && !hasMessages && <TabsTrigger value="form">Form (from input schema)</TabsTrigger>}
              <TabsTrigger value="raw">Raw JSON</TabsTrigger>
            </TabsList>
            <TabsContent value="chat">
              <form onSubmit={send} className="grid gap-3">
                {!embedding && (
                  <>
                    <div className="max-h-64 space-y-2 overflow-auto rounded-md border bg-muted/40 p-3" aria-label="Conversation" aria-live="polite">
                      {history.length === 0 ? (
                        <p className="text-center text-xs text-muted-foreground">No messages yet. The conversation is sent whole on each turn.</p>
                      ) : (
                        history.map((m, i) => (
                          <div key={i} className={m.role === "user" ? "flex justify-end" : "flex"}>
                            <div className={`max-w-[80%] whitespace-pre-wrap rounded-lg px-3 py-1.5 text-sm ${m.role === "user" ? "bg-primary text-primary-foreground" : "border bg-card"}`}>
                              <span className="sr-only">{m.role}: </span>
                              {m.content || <em className="opacity-70">(empty)</em>}
                            </div>
                          </div>
                        ))
                      )}
                    </div>
                    <details className="text-xs">
                      <summary className="cursor-pointer text-muted-foreground">System prompt{params.length ? " and parameters" : ""}</summary>
                      <div className="mt-2 grid gap-3 sm:grid-cols-2">
                        <Field label="System prompt" htmlFor="test-system" className="sm:col-span-2">
                          <Input id="test-system" value={system} onChange={(e) => setSystem(e.target.value)} placeholder="You are a helpful assistant." />
                        </Field>
                        {params.map((f) => (
                          <SchemaField key={f.name} f={f} value={values[f.name]} onChange={(v) => setValues((x) => ({ ...x, [f.name]: v }))} error={fieldErrors[f.name]} />
                        ))}
                      </div>
                    </details>
                  </>
                )}
                <div className="flex items-end gap-2">
                  <div className="grid flex-1 gap-1.5">
                    <Label htmlFor="test-message">{embedding ? "Text to embed" : "Message"}</Label>
                    <Textarea
                      id="test-message"
                      rows={2}
                      value={draft}
                      onChange={(e) => setDraft(e.target.value)}
                      placeholder={embedding ? "hello world" : "Say hello in five words."}
                      onKeyDown={(e) => {
                        if (e.key === "Enter" && !e.shiftKey) {
                          e.preventDefault();
                          void send();
                        }
                      }}
                    />
                  </div>
                  <div className="flex flex-col gap-1.5">
                    {history.length > 0 && (
                      <Button variant="ghost" size="sm" onClick={() => setHistory([])} aria-label="Clear the conversation">
                        <Trash size={14} aria-hidden /> Clear
                      </Button>
                    )}
                    <Button type="submit" disabled={busy}>
                      <PaperPlaneRight size={15} aria-hidden /> Send
                    </Button>
                  </div>
                </div>
                {!embedding && <p className="text-[11px] text-muted-foreground">Enter sends, Shift+Enter adds a line.</p>}
              </form>
            </TabsContent>
            {fields && !hasMessages && (
              <TabsContent value="form">
                <form onSubmit={send} className="grid gap-3">
                  <div className="grid gap-3 sm:grid-cols-2">
                    {fields.map((f) => (
                      <div key={f.name} className={f.kind === "text" || f.kind === "json" ? "sm:col-span-2" : ""}>
                        <SchemaField f={f} value={values[f.name]} onChange={(v) => setValues((x) => ({ ...x, [f.name]: v }))} error={fieldErrors[f.name]} />
                      </div>
                    ))}
                  </div>
                  <div className="flex justify-end">
                    <Button type="submit" disabled={busy}>
                      <PaperPlaneRight size={15} aria-hidden /> Send
                    </Button>
                  </div>
                </form>
              </TabsContent>
            )}
            <TabsContent value="raw">
              <form onSubmit={send} className="grid gap-2">
                <Label htmlFor="test-raw">Request body</Label>
                <Textarea id="test-raw" rows={8} value={raw} onChange={(e) => setRaw(e.target.value)} className="font-mono text-xs" spellCheck={false} />
                <p className="text-[11px] text-muted-foreground">
                  Anything <code>/v1/models/{model.id}/invoke</code> accepts: <code>{'{"messages": […]}'}</code>, <code>{'{"prompt": "…"}'}</code> or <code>{'{"input": "…"}'}</code>. Empty sends a small default.
                </p>
                <div className="flex justify-end">
                  <Button type="submit" disabled={busy}>
                    <PaperPlaneRight size={15} aria-hidden /> Send
                  </Button>
                </div>
              </form>
            </TabsContent>
          </Tabs>
          <InlineError message={error} />
          {busy && (
            <div className="flex items-center gap-3">
              <Spinner label="Waiting for the model" />
              <Button variant="ghost" size="sm" onClick={() => abort.current?.abort()}>
                <ArrowsClockwise size={14} aria-hidden /> Cancel
              </Button>
            </div>
          )}
          {report && <ReportView report={report} />}
        </DialogBody>
      </DialogContent>
    </Dialog>
  );
}
