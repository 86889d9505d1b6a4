import { ArrowSquareOut, Play } from "@phosphor-icons/react";
import { useEffect, useRef } from "react";
import { RunStatusBadge } from "@/components/badges";
import { JsonEditor } from "@/components/JsonEditor";
import { Button } from "@/components/ui/button";
import { CodeBlock } from "@/components/ui/code";
import { Field, Label } from "@/components/ui/label";
import { InlineError, Spinner } from "@/components/ui/states";
import { fmtInt, fmtMs, fmtUsd } from "@/lib/format";
import { Link } from "@/lib/router";
import type { RunResult } from "@/lib/types";
import { cn } from "@/lib/utils";

/**
 * The builder's Test run tab: an input, the run button, and the last run's result. Every block
 * is held to the panel's width (long words wrap, JSON scrolls in its own box) so the button and
 * the output never end up beyond the panel's edge; the panel itself scrolls vertically.
 */
export function RunPanel({
  input,
  setInput,
  hasSchema,
  running,
  run,
  error,
  onRun,
  onSelect,
  needsSave,
}: {
  input: string;
  setInput: (s: string) => void;
  hasSchema: boolean;
  running: boolean;
  run: RunResult | null;
  error: string | null;
  onRun: () => void;
  onSelect: (id: string) => void;
  needsSave: boolean;
}) {
  const x = run?.execution;
  const result = useRef<HTMLElement>(null);
  // A new result may start below the panel's fold: bring its output into view.
  useEffect(() => {
    if (run) result.current?.querySelector("[data-testid=run-output]")?.scrollIntoView({ block: "nearest" });
  }, [run]);
  return (
    <div className="grid min-w-0 grid-cols-[minmax(0,1fr)] gap-3">
      <div>
        <h2 className="text-sm font-semibold">Test run</h2>
        <p className="text-xs text-muted-foreground">
          {hasSchema
            ? "Runs the saved pipeline with this input, filled in from its input schema: replace the placeholders."
            : 'Runs the saved pipeline with this input (any JSON; a string or {"prompt"} reaches the first model as the user message).'}
        </p>
      </div>
      <Field label="Input" htmlFor="run-input">
        <JsonEditor id="run-input" value={input} onChange={setInput} rows={5} />
      </Field>
      <Button onClick={onRun} disabled={running}>
        <Play size={15} weight="fill" aria-hidden /> {running ? "Running…" : needsSave ? "Save and run" : "Run pipeline"}
      </Button>
      <InlineError message={error} />
      {running && <Spinner label="Running" />}
      {run && (
        <section ref={result} aria-label="Run result" className="grid min-w-0 grid-cols-[minmax(0,1fr)] gap-3" data-testid="run-result">
          <div className="flex flex-wrap items-center gap-2">
            <RunStatusBadge status={run.status} />
            {x && <span className="text-xs tabular-nums text-muted-foreground">{fmtMs(x.latencyMs)} · {fmtInt(x.inputTokens + x.outputTokens)} tokens · {fmtUsd(x.costUsd)}</span>}
            <Link to={`/executions/${encodeURIComponent(run.executionId)}`} className="ml-auto inline-flex items-center gap-1 text-xs text-primary hover:underline">
              Execution <ArrowSquareOut size={12} aria-hidden />
            </Link>
          </div>
          {x?.error && <p className="rounded bg-destructive/10 px-2 py-1.5 text-xs break-words text-destructive">{x.failedStep ? `${x.failedStep}: ` : ""}{x.error}</p>}
          <div className="min-w-0">
            <Label>Output</Label>
            <div className="mt-1 max-h-48 overflow-auto whitespace-pre-wrap rounded-md border bg-muted/40 p-2 text-sm [overflow-wrap:anywhere]" data-testid="run-output">
              {run.text || <span className="text-muted-foreground">(empty)</span>}
            </div>
          </div>
          {run.output !== undefined && typeof run.output !== "string" && (
            <details className="min-w-0">
              <summary className="cursor-pointer text-xs text-muted-foreground">Output as JSON</summary>
              <CodeBlock value={run.output} className="mt-1" maxHeight="max-h-56" />
            </details>
          )}
          {x && (
            <div className="min-w-0">
              <Label>Steps</Label>
              <ol className="mt-1 divide-y rounded-md border text-xs">
                {x.steps.map((s) => (
                  <li key={s.id}>
                    <button className="flex w-full items-center gap-2 px-2 py-1.5 text-left hover:bg-accent cursor-pointer" onClick={() => onSelect(s.id)}>
                      <span className={cn("h-2 w-2 shrink-0 rounded-full", s.status === "ok" ? "bg-success" : s.status === "error" ? "bg-destructive" : "bg-muted-foreground/40")} aria-hidden />
                      <span className="min-w-0 flex-1 truncate font-mono">{s.id}</span>
                      <span className="text-muted-foreground">{s.status}</span>
                      <span className="w-14 shrink-0 text-right tabular-nums">{s.status === "skipped" ? "" : fmtMs(s.latencyMs)}</span>
                      <span className="w-16 shrink-0 text-right tabular-nums">{s.costUsd ? fmtUsd(s.costUsd) : ""}</span>
                    </button>
                  </li>
                ))}
              </ol>
            </div>
          )}
        </section>
      )}
    </div>
  );
}
