import { Trash, WarningCircle } from "@phosphor-icons/react";
import { useEffect, useState, type ReactNode } from "react";
import { ModelStatusBadge, RunStatusBadge } from "@/components/badges";
import { JsonEditor } from "@/components/JsonEditor";
import { Button } from "@/components/ui/button";
import { CodeBlock } from "@/components/ui/code";
import { Input, Textarea } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { fmtInt, fmtMs, fmtUsd } from "@/lib/format";
import type { ModelView, NodeData, PluginInfo, Problem, StepRecord } from "@/lib/types";
import { nodeKinds } from "./kinds";

export function ProblemList({ problems, onSelect }: { problems: Problem[]; onSelect?: (node: string) => void }) {
  if (!problems.length) return null;
  return (
    <ul className="space-y-1" aria-label="Problems">
      {problems.map((p, i) => (
        <li key={i} className="flex gap-1.5 rounded-md bg-destructive/5 px-2 py-1.5 text-xs text-destructive">
          <WarningCircle size={14} className="mt-px shrink-0" aria-hidden />
          <span className="min-w-0 break-words">
            {p.node ? (
              onSelect ? (
                <button className="font-mono font-semibold underline-offset-2 hover:underline cursor-pointer" onClick={() => onSelect(p.node!)}>
                  {p.node}
                </button>
              ) : (
                <span className="font-mono font-semibold">{p.node}</span>
              )
            ) : null}
            {p.node && (p.field ? " " : ": ")}
            {p.field && <span className="font-mono">{p.field}: </span>}
            {p.message}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** A number field typed as text: "" is unset. */
function NumberInput({ id, value, onChange, disabled, placeholder }: { id: string; value: number | undefined; onChange: (n: number | undefined) => void; disabled?: boolean; placeholder?: string }) {
  const [text, setText] = useState(value === undefined ? "" : String(value));
  useEffect(() => {
    setText((t) => (Number(t) === value || (t === "" && value === undefined) ? t : value === undefined ? "" : String(value)));
  }, [value]);
  const bad = text.trim() !== "" && !Number.isFinite(Number(text));
  return (
    <Input
      id={id}
      inputMode="decimal"
      value={text}
      disabled={disabled}
      placeholder={placeholder}
      aria-invalid={bad}
      onChange={(e) => {
        setText(e.target.value);
        const s = e.target.value.trim();
        if (s === "") onChange(undefined);
        else if (Number.isFinite(Number(s))) onChange(Number(s));
      }}
    />
  );
}

const exprHint = (
  <>
    expr-lang over <code>input</code> and <code>steps.&lt;id&gt;.output</code> (a model's is <code>{"{text, model, usage}"}</code>)
  </>
);

export function StepResult({ step }: { step: StepRecord }) {
  return (
    <section aria-label="Last run of this step" className="grid gap-2 rounded-md border p-2.5">
      <div className="flex items-center gap-2 text-xs">
        <span className="font-semibold">Last run</span>
        <RunStatusBadge status={step.status} />
        {step.fallback && <span className="text-warning">fallback {step.fallback}</span>}
      </div>
      <dl className="grid grid-cols-3 gap-2 text-xs tabular-nums">
        <div>
          <dt className="text-[10px] text-muted-foreground">Latency</dt>
          <dd>{fmtMs(step.latencyMs)}</dd>
        </div>
        <div>
          <dt className="text-[10px] text-muted-foreground">Tokens</dt>
          <dd>
            {fmtInt(step.inputTokens ?? 0)} / {fmtInt(step.outputTokens ?? 0)}
          </dd>
        </div>
        <div>
          <dt className="text-[10px] text-muted-foreground">Cost</dt>
          <dd>{fmtUsd(step.costUsd ?? 0)}</dd>
        </div>
        {step.servedBy && (
          <div className="col-span-3">
            <dt className="text-[10px] text-muted-foreground">Served by</dt>
            <dd className="font-mono">
              {step.servedBy}
              {step.retries ? ` after ${step.retries} retries` : ""}
            </dd>
          </div>
        )}
        {step.route && (
          <div className="col-span-3">
            <dt className="text-[10px] text-muted-foreground">Route</dt>
            <dd className="font-mono">{step.route}</dd>
          </div>
        )}
      </dl>
      {step.error && <p className="rounded bg-destructive/10 px-2 py-1 text-xs text-destructive">{step.error}</p>}
      {step.input !== undefined && (
        <div>
          <div className="mb-1 text-[10px] text-muted-foreground">Input</div>
          <CodeBlock value={step.input} maxHeight="max-h-40" />
        </div>
      )}
      {step.output !== undefined && (
        <div>
          <div className="mb-1 text-[10px] text-muted-foreground">Output</div>
          <CodeBlock value={step.output} maxHeight="max-h-40" />
        </div>
      )}
    </section>
  );
}

function Chips({ all, chosen, onChange, disabled, label }: { all: string[]; chosen: string[]; onChange: (v: string[]) => void; disabled?: boolean; label: string }) {
  if (!all.length) return <p className="text-xs text-muted-foreground">No other models.</p>;
  return (
    <div className="flex flex-wrap gap-1" role="group" aria-label={label}>
      {all.map((id) => {
        const i = chosen.indexOf(id);
        return (
          <button
            key={id}
            type="button"
            disabled={disabled}
            aria-pressed={i >= 0}
            onClick={() => onChange(i >= 0 ? chosen.filter((x) => x !== id) : [...chosen, id])}
            className="rounded-full border px-2 py-0.5 font-mono text-[11px] hover:bg-accent aria-pressed:border-primary aria-pressed:bg-primary/10 aria-pressed:text-primary disabled:opacity-60 cursor-pointer"
          >
            {i >= 0 ? `${i + 1}. ` : ""}
            {id}
          </button>
        );
      })}
    </div>
  );
}

/** Configures the selected node. */
export function NodePanel({
  id,
  type,
  data,
  onChange,
  onDelete,
  models,
  tools = [],
  plugins,
  problems,
  step,
  readOnly,
  outgoing,
}: {
  id: string;
  type: string;
  data: NodeData;
  onChange: (d: NodeData) => void;
  onDelete: () => void;
  models: ModelView[];
  /** MCP tools, as the registry lists them. */
  tools?: ModelView[];
  plugins: PluginInfo[];
  problems: Problem[];
  step?: StepRecord;
  readOnly: boolean;
  outgoing: string[];
}) {
  const kind = nodeKinds[type] ?? nodeKinds.model;
  const set = <K extends keyof NodeData>(k: K, v: NodeData[K]) => onChange({ ...data, [k]: v });
  const f = (name: string) => `node-${name}`;
  const model = data.model ? models.find((m) => m.id === data.model) : undefined;
  const row = (children: ReactNode) => <div className="grid grid-cols-2 gap-2">{children}</div>;
  return (
    <div className="grid gap-3" aria-label={`Configure ${id}`}>
      <div className="flex items-start gap-2">
        <div className="min-w-0 flex-1">
          <h2 className="text-sm font-semibold">{kind.label} step</h2>
          <p className="text-xs text-muted-foreground">{kind.help}</p>
        </div>
        {!readOnly && (
          <Button size="icon" variant="ghost" className="text-muted-foreground hover:text-destructive" onClick={onDelete} aria-label={`Delete node ${id}`}>
            <Trash size={15} />
          </Button>
        )}
      </div>
      <ProblemList problems={problems} />
      {row(
        <>
          <Field label="Id" htmlFor={f("id")} hint="steps.<id> in expressions">
            <Input id={f("id")} value={id} readOnly className="bg-muted font-mono text-xs" />
          </Field>
          <Field label="Label" htmlFor={f("label")}>
            <Input id={f("label")} value={data.label ?? ""} onChange={(e) => set("label", e.target.value)} disabled={readOnly} placeholder={kind.label} />
          </Field>
        </>,
      )}

      {type === "model" && (
        <>
          <Field label="Model" htmlFor={f("model")} required>
            <Select id={f("model")} value={data.model ?? ""} onValueChange={(v) => set("model", v)} options={models.map((m) => ({ value: m.id, label: `${m.name} (${m.id})` }))} placeholder="Choose a model" disabled={readOnly} />
          </Field>
          {model && (
            <div className="flex items-center gap-2 text-xs text-muted-foreground">
              <ModelStatusBadge status={model.status} /> {model.modelType} · {model.provider}
            </div>
          )}
          <Field label="Input" htmlFor={f("input")} hint={<>Empty: the previous step's output (its text as the user message). {exprHint}</>}>
            <Textarea id={f("input")} rows={3} className="font-mono text-xs" value={data.input ?? ""} onChange={(e) => set("input", e.target.value)} disabled={readOnly} placeholder={'"Summarize: " + steps.draft.output.text'} spellCheck={false} />
          </Field>
          {row(
            <>
              <Field label="Retries" htmlFor={f("retries")} hint="0-10; empty: the model's">
                <NumberInput id={f("retries")} value={data.retries} onChange={(v) => set("retries", v)} disabled={readOnly} placeholder="model's" />
              </Field>
              <Field label="Timeout (ms)" htmlFor={f("timeoutMs")}>
                <NumberInput id={f("timeoutMs")} value={data.timeoutMs} onChange={(v) => set("timeoutMs", v)} disabled={readOnly} placeholder="model's" />
              </Field>
            </>,
          )}
          <Field label="Fallbacks" hint="Tried in order if the model fails">
            <Chips label="Fallbacks" all={models.map((m) => m.id).filter((m) => m !== data.model)} chosen={data.fallbacks ?? []} onChange={(v) => set("fallbacks", v)} disabled={readOnly} />
          </Field>
        </>
      )}

      {type === "tool" && (
        <>
          <Field label="Tool" htmlFor={f("tool")} required hint={tools.length ? "<server>__<tool>, as /mcp lists it" : "No MCP tools are listed: type <server>__<tool>"}>
            {tools.length ? (
              <Select id={f("tool")} value={data.tool ?? ""} onValueChange={(v) => set("tool", v)} options={tools.map((t) => ({ value: t.id, label: t.id }))} placeholder="Choose a tool" disabled={readOnly} />
            ) : (
              <Input id={f("tool")} className="font-mono text-xs" value={data.tool ?? ""} onChange={(e) => set("tool", e.target.value)} disabled={readOnly} placeholder="search__web_search" />
            )}
          </Field>
          {(() => {
            const t = data.tool ? tools.find((x) => x.id === data.tool) : undefined;
            return t ? (
              <div className="flex items-center gap-2 text-xs text-muted-foreground">
                <ModelStatusBadge status={t.status} /> {t.description}
              </div>
            ) : null;
          })()}
          <Field label="Arguments" htmlFor={f("arguments")} hint={<>An object. Empty: the previous step's output, which must be one. {exprHint}; a tool's output is its structured content, else its text</>}>
            <Textarea id={f("arguments")} rows={3} className="font-mono text-xs" value={data.arguments ?? ""} onChange={(e) => set("arguments", e.target.value)} disabled={readOnly} placeholder={'{"query": input.question}'} spellCheck={false} />
          </Field>
          <Field label="Timeout (ms)" htmlFor={f("timeoutMs")}>
            <NumberInput id={f("timeoutMs")} value={data.timeoutMs} onChange={(v) => set("timeoutMs", v)} disabled={readOnly} placeholder="server's" />
          </Field>
        </>
      )}

      {type === "transform" && (
        <>
          <Field label="Plugin" htmlFor={f("plugin")} required hint={plugins.length ? undefined : "No plugins are loaded: type the name of one the config will load"}>
            {plugins.length ? (
              <Select id={f("plugin")} value={data.plugin ?? ""} onValueChange={(v) => set("plugin", v)} options={plugins.map((p) => ({ value: p.name, label: `${p.name} (${p.kind})` }))} placeholder="Choose a plugin" disabled={readOnly} />
            ) : (
              <Input id={f("plugin")} value={data.plugin ?? ""} onChange={(e) => set("plugin", e.target.value)} disabled={readOnly} placeholder="pii-redact" />
            )}
          </Field>
          <Field label="Input" htmlFor={f("input")} hint={exprHint}>
            <Textarea id={f("input")} rows={2} className="font-mono text-xs" value={data.input ?? ""} onChange={(e) => set("input", e.target.value)} disabled={readOnly} spellCheck={false} />
          </Field>
          <Field label="Config" htmlFor={f("config")} hint="JSON given to the plugin">
            <ConfigEditor value={data.config} onChange={(v) => set("config", v)} disabled={readOnly} />
          </Field>
        </>
      )}

      {type === "condition" && (
        <Field label="Condition" htmlFor={f("expression")} required hint={<>True follows the green handle, false the red one. {exprHint}</>}>
          <Textarea id={f("expression")} rows={3} className="font-mono text-xs" value={data.expression ?? ""} onChange={(e) => set("expression", e.target.value)} disabled={readOnly} placeholder={'len(steps.draft.output.text) > 200'} spellCheck={false} />
        </Field>
      )}

      {type === "router" && (
        <>
          <Field label="Strategy" htmlFor={f("strategy")}>
            <Select
              id={f("strategy")}
              value={data.strategy || "expression"}
              onValueChange={(v) => set("strategy", v === "expression" ? undefined : v)}
              options={[
                { value: "expression", label: "Expression: its value picks the route" },
                { value: "cost", label: "Cheapest model" },
                { value: "latency", label: "Fastest model" },
                { value: "quality", label: "Best success rate" },
              ]}
              disabled={readOnly}
            />
          </Field>
          {(!data.strategy || data.strategy === "expression") && (
            <Field label="Expression" htmlFor={f("expression")} required hint={<>The id of the next node{outgoing.length ? ` (${outgoing.join(", ")})` : ""}. {exprHint}</>}>
              <Textarea id={f("expression")} rows={3} className="font-mono text-xs" value={data.expression ?? ""} onChange={(e) => set("expression", e.target.value)} disabled={readOnly} spellCheck={false} />
            </Field>
          )}
          {data.strategy && data.strategy !== "expression" && (
            <>
              <Field label="Capability" htmlFor={f("capability")} hint="A model type or tag the chosen model must have">
                <Input id={f("capability")} value={data.capability ?? ""} onChange={(e) => set("capability", e.target.value)} disabled={readOnly} />
              </Field>
              {row(
                <>
                  <Field label="Max latency (ms)" htmlFor={f("maxLatencyMs")}>
                    <NumberInput id={f("maxLatencyMs")} value={data.maxLatencyMs} onChange={(v) => set("maxLatencyMs", v)} disabled={readOnly} />
                  </Field>
                  <Field label="Max cost / token" htmlFor={f("maxCostPerToken")}>
                    <NumberInput id={f("maxCostPerToken")} value={data.maxCostPerToken} onChange={(v) => set("maxCostPerToken", v)} disabled={readOnly} />
                  </Field>
                </>,
              )}
            </>
          )}
        </>
      )}

      {type === "merge" && (
        <Field label="Mode" htmlFor={f("mode")}>
          <Select
            id={f("mode")}
            value={data.mode || "object"}
            onValueChange={(v) => set("mode", v === "object" ? undefined : v)}
            options={[
              { value: "object", label: "Object, by source id" },
              { value: "list", label: "List" },
              { value: "text", label: "Text, joined" },
            ]}
            disabled={readOnly}
          />
        </Field>
      )}

      {type === "output" && (
        <Field label="Output" htmlFor={f("output")} hint={<>Empty: the previous step's output. {exprHint}</>}>
          <Textarea id={f("output")} rows={3} className="font-mono text-xs" value={data.output ?? ""} onChange={(e) => set("output", e.target.value)} disabled={readOnly} placeholder="steps.edit.output.text" spellCheck={false} />
        </Field>
      )}

      {type !== "input" && type !== "output" && (
        <Field label="On error" htmlFor={f("onError")} hint="Continue: the step's output becomes {error} and the run goes on">
          <Select
            id={f("onError")}
            value={data.onError || "fail"}
            onValueChange={(v) => set("onError", v === "fail" ? undefined : v)}
            options={[
              { value: "fail", label: "Fail the run" },
              { value: "continue", label: "Continue" },
            ]}
            disabled={readOnly}
          />
        </Field>
      )}

      {step && <StepResult step={step} />}
    </div>
  );
}

function ConfigEditor({ value, onChange, disabled }: { value: unknown; onChange: (v: unknown) => void; disabled?: boolean }) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value, null, 2));
  return (
    <JsonEditor
      id="node-config"
      value={text}
      rows={4}
      disabled={disabled}
      onChange={(t) => {
        setText(t);
        if (!t.trim()) onChange(undefined);
        else {
          try {
            onChange(JSON.parse(t));
          } catch {
            /* shown by the editor */
          }
        }
      }}
    />
  );
}
