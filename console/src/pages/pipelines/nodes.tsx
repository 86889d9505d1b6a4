import { WarningCircle } from "@phosphor-icons/react";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { createContext, memo, useContext, type CSSProperties } from "react";
import { fmtMs, fmtUsd } from "@/lib/format";
import type { ModelView, NodeData, Problem, StepRecord } from "@/lib/types";
import { cn } from "@/lib/utils";
import { nodeKinds } from "./kinds";

export type StepNodeType = Node<NodeData & Record<string, unknown>>;

export interface BuilderContextValue {
  errors: Map<string, Problem[]>;
  steps: Map<string, StepRecord>;
  models: Map<string, ModelView>;
}

export const BuilderContext = createContext<BuilderContextValue>({ errors: new Map(), steps: new Map(), models: new Map() });

function subtitle(type: string, d: NodeData, models: Map<string, ModelView>): string {
  switch (type) {
    case "model":
      return d.model ? (models.get(d.model)?.name ?? d.model) : "choose a model";
    case "tool":
      return d.tool ? `tool ${d.tool}` : "choose a tool";
    case "transform":
      return d.plugin ? `plugin ${d.plugin}` : "choose a plugin";
    case "condition":
      return d.expression || "set an expression";
    case "router":
      return d.strategy && d.strategy !== "expression" ? `best by ${d.strategy}` : d.expression || "set an expression";
    case "merge":
      return `as ${d.mode || "object"}`;
    case "output":
      return d.output || "the last step's output";
    case "input":
      return "the run's input";
  }
  return "";
}

const stepColors: Record<string, string> = {
  ok: "bg-success",
  error: "bg-destructive",
  running: "bg-warning animate-pulse",
  pending: "bg-muted-foreground/40",
  skipped: "bg-muted-foreground/40",
  canceled: "bg-muted-foreground/40",
};

export const StepNode = memo(function StepNode({ id, type, data, selected }: NodeProps<StepNodeType>) {
  const { errors, steps, models } = useContext(BuilderContext);
  const kind = nodeKinds[type] ?? nodeKinds.model;
  const IconC = kind.icon;
  const errs = errors.get(id);
  const step = steps.get(id);
  const model = type === "model" && data.model ? models.get(data.model) : undefined;
  const title = data.label || (type === "model" && data.model ? data.model : type === "tool" && data.tool ? data.tool : kind.label);
  return (
    <div
      className={cn(
        "relative w-52 rounded-lg border bg-card text-left shadow-sm transition-shadow",
        selected && "ring-2 ring-primary/60",
        errs?.length ? "border-destructive ring-destructive/40" : step?.status === "ok" ? "border-success/60" : "",
      )}
      data-testid={`node-${id}`}
      data-errors={errs?.length ?? 0}
      data-status={step?.status ?? ""}
      title={errs?.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join("\n")}
    >
      {type !== "input" && <Handle type="target" position={Position.Left} id={undefined} aria-label={`Into ${id}`} />}
      <div className="flex items-center gap-2 px-2.5 pt-2">
        <span className={cn("flex h-6 w-6 shrink-0 items-center justify-center rounded-md", kind.color)}>
          <IconC size={14} weight="bold" aria-hidden />
        </span>
        <div className="min-w-0 flex-1">
          <div className="truncate text-[13px] font-semibold leading-tight">{title}</div>
          <div className="truncate font-mono text-[11px] text-muted-foreground">
            {kind.label.toLowerCase()} · {id}
          </div>
        </div>
        {errs?.length ? (
          <span className="flex items-center gap-0.5 text-[10px] font-semibold text-destructive" aria-label={`${errs.length} problems`}>
            <WarningCircle size={14} weight="fill" aria-hidden />
            {errs.length}
          </span>
        ) : model && model.status !== "available" ? (
          <span className="text-[10px] text-warning" title={`Model is ${model.status}`}>
            {model.status}
          </span>
        ) : null}
      </div>
      <div className="truncate px-2.5 pb-2 pt-1 text-xs text-muted-foreground" title={subtitle(type, data, models)}>
        {subtitle(type, data, models)}
      </div>
      {errs?.length ? <div className="truncate border-t border-destructive/20 bg-destructive/5 px-2.5 py-1 text-[10px] text-destructive">{errs[0].field ? `${errs[0].field}: ` : ""}{errs[0].message}</div> : null}
      {step && (
        <div className="flex items-center gap-2 border-t bg-muted/40 px-2.5 py-1 text-[10px] tabular-nums" data-testid={`node-result-${id}`}>
          <span className={cn("h-2 w-2 rounded-full", stepColors[step.status] ?? "bg-muted-foreground/40")} aria-hidden />
          <span className="font-medium">{step.status}</span>
          {step.status !== "skipped" && <span>{fmtMs(step.latencyMs)}</span>}
          {step.costUsd ? <span>{fmtUsd(step.costUsd)}</span> : null}
          {step.inputTokens || step.outputTokens ? <span className="ml-auto text-muted-foreground">{(step.inputTokens ?? 0) + (step.outputTokens ?? 0)} tok</span> : null}
          {step.type === "condition" && step.result !== undefined && <span className="ml-auto font-mono">{String(step.result)}</span>}
        </div>
      )}
      {type === "condition" ? (
        <>
          <Handle type="source" position={Position.Right} id="true" style={{ top: "35%" }} aria-label={`${id} if true`} />
          <span className="pointer-events-none absolute -right-8 top-[35%] -translate-y-1/2 text-[9px] font-semibold text-success">true</span>
          <Handle type="source" position={Position.Right} id="false" style={{ top: "70%", "--handle-color": "var(--color-destructive)" } as CSSProperties} aria-label={`${id} if false`} />
          <span className="pointer-events-none absolute -right-8 top-[70%] -translate-y-1/2 text-[9px] font-semibold text-destructive">false</span>
        </>
      ) : type !== "output" ? (
        <Handle type="source" position={Position.Right} aria-label={`Out of ${id}`} />
      ) : null}
    </div>
  );
});

export const nodeTypes = {
  input: StepNode,
  output: StepNode,
  model: StepNode,
  tool: StepNode,
  transform: StepNode,
  condition: StepNode,
  router: StepNode,
  merge: StepNode,
};
