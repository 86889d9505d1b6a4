import { MagnifyingGlass } from "@phosphor-icons/react";
import { useState, type DragEvent } from "react";
import { Input } from "@/components/ui/input";
import type { ModelView, NodeData, PluginInfo } from "@/lib/types";
import { cn } from "@/lib/utils";
import { nodeKinds } from "./kinds";

export interface PaletteItem {
  type: string;
  data: NodeData;
  hint: string;
}

export const DND_TYPE = "application/x-iom-node";

function Item({ item, title, detail, disabled, onAdd, testId }: { item: PaletteItem; title: string; detail?: string; disabled?: boolean; onAdd: (i: PaletteItem) => void; testId: string }) {
  const kind = nodeKinds[item.type];
  const IconC = kind.icon;
  return (
    <li>
      <button
        type="button"
        draggable={!disabled}
        disabled={disabled}
        data-testid={testId}
        onDragStart={(e: DragEvent) => {
          e.dataTransfer.setData(DND_TYPE, JSON.stringify(item));
          e.dataTransfer.effectAllowed = "move";
        }}
        onClick={() => onAdd(item)}
        title={disabled ? "Already on the canvas" : `${kind.help} Drag onto the canvas, or press Enter to add.`}
        className="flex w-full cursor-grab items-center gap-2 rounded-md border bg-card px-2 py-1.5 text-left text-xs shadow-xs hover:border-primary/50 hover:bg-accent focus-visible:outline-2 focus-visible:outline-ring active:cursor-grabbing disabled:cursor-not-allowed disabled:opacity-50"
      >
        <span className={cn("flex h-5 w-5 shrink-0 items-center justify-center rounded", kind.color)}>
          <IconC size={12} weight="bold" aria-hidden />
        </span>
        <span className="min-w-0 flex-1">
          <span className="block truncate font-medium">{title}</span>
          {detail && <span className="block truncate font-mono text-[10px] text-muted-foreground">{detail}</span>}
        </span>
      </button>
    </li>
  );
}

/** Node types, registered models and loaded plugins, to drag onto the canvas (or click to add). */
export function Palette({ models, tools = [], plugins, hasInput, hasOutput, onAdd, disabled }: { models: ModelView[]; tools?: ModelView[]; plugins: PluginInfo[]; hasInput: boolean; hasOutput: boolean; onAdd: (i: PaletteItem) => void; disabled?: boolean }) {
  const [q, setQ] = useState("");
  const ql = q.trim().toLowerCase();
  const shownModels = models.filter((m) => !ql || m.name.toLowerCase().includes(ql) || m.id.toLowerCase().includes(ql) || (m.tags ?? []).some((t) => t.toLowerCase().includes(ql)));
  const shownTools = tools.filter((m) => !ql || m.id.toLowerCase().includes(ql) || (m.description ?? "").toLowerCase().includes(ql));
  const shownPlugins = plugins.filter((p) => !ql || p.name.toLowerCase().includes(ql));
  const steps: { type: string; disabled?: boolean }[] = [
    { type: "input", disabled: hasInput },
    { type: "output", disabled: hasOutput },
    { type: "condition" },
    { type: "router" },
    { type: "merge" },
    { type: "transform" },
    { type: "tool" },
    { type: "model" },
  ];
  return (
    <aside aria-label="Palette" className={cn("flex w-48 shrink-0 flex-col border-r bg-card/60 2xl:w-56", disabled && "pointer-events-none opacity-60")}>
      <div className="border-b p-2">
        <div className="relative">
          <MagnifyingGlass size={13} className="absolute left-2 top-1/2 -translate-y-1/2 text-muted-foreground" aria-hidden />
          <Input value={q} onChange={(e) => setQ(e.target.value)} placeholder="Find a model, tool or plugin" aria-label="Find a model, tool or plugin" className="h-8 pl-7 text-xs" />
        </div>
      </div>
      <div className="min-h-0 flex-1 space-y-4 overflow-y-auto p-2">
        <section>
          <h3 className="mb-1.5 px-1 text-[11px] font-semibold uppercase tracking-wide text-muted-foreground">Models</h3>
          {shownModels.length === 0 ? (
            <p className="px-1 text-xs text-muted-foreground">{models.length ? "No model matches." : "No models registered yet."}</p>
          ) : (
            <ul className="space-y-1">
              {shownModels.map((m) => (
                <Item key={m.id} testId={`palette-model-${m.id}`} item={{ type: "model", data: { model: m.id }, hint: m.id }} title={m.name} detail={m.id} onAdd={onAdd} />
              ))}
            </ul>
          )}
        </section>
        {tools.length > 0 && (
          <section>
            <h3 className="mb-1.5 px-1 text-[11px] font-semibold uppercase tracking-wide text-muted-foreground">Tools</h3>
            {shownTools.length === 0 ? (
              <p className="px-1 text-xs text-muted-foreground">No tool matches.</p>
            ) : (
              <ul className="space-y-1">
                {shownTools.map((m) => (
                  <Item key={m.id} testId={`palette-tool-${m.id}`} item={{ type: "tool", data: { tool: m.id }, hint: m.name || m.id }} title={m.name || m.id} detail={m.id} onAdd={onAdd} />
                ))}
              </ul>
            )}
          </section>
        )}
        <section>
          <h3 className="mb-1.5 px-1 text-[11px] font-semibold uppercase tracking-wide text-muted-foreground">Plugins</h3>
          {shownPlugins.length === 0 ? (
            <p className="px-1 text-xs text-muted-foreground">{plugins.length ? "No plugin matches." : "No plugins loaded."}</p>
          ) : (
            <ul className="space-y-1">
              {shownPlugins.map((p) => (
                <Item key={p.name} testId={`palette-plugin-${p.name}`} item={{ type: "transform", data: { plugin: p.name }, hint: p.name }} title={p.name} detail={`${p.kind} · ${p.roles.join(", ")}`} onAdd={onAdd} />
              ))}
            </ul>
          )}
        </section>
        <section>
          <h3 className="mb-1.5 px-1 text-[11px] font-semibold uppercase tracking-wide text-muted-foreground">Steps</h3>
          <ul className="space-y-1">
            {steps.map((s) => (
              <Item key={s.type} testId={`palette-${s.type}`} item={{ type: s.type, data: {}, hint: s.type === "input" ? "in" : s.type === "output" ? "out" : s.type }} title={nodeKinds[s.type].label} disabled={s.disabled} onAdd={onAdd} />
            ))}
          </ul>
        </section>
      </div>
      <p className="border-t p-2 text-[10px] leading-snug text-muted-foreground">Drag onto the canvas, then connect a node's right handle to another's left. Delete removes the selection. Scroll to pan, Ctrl+scroll to zoom.</p>
    </aside>
  );
}
