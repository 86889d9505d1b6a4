import "@xyflow/react/dist/style.css";
import { ArrowsIn, CaretLeft, CheckCircle, CircleNotch, Copy, FileCode, FloppyDisk, LockSimple, Play, Trash, WarningCircle } from "@phosphor-icons/react";
import {
  addEdge,
  Background,
  BackgroundVariant,
  ControlButton,
  Controls,
  ReactFlow,
  ReactFlowProvider,
  useEdgesState,
  useNodesState,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { JsonEditor } from "@/components/JsonEditor";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Confirm } from "@/components/ui/confirm";
import { Input, Textarea } from "@/components/ui/input";
import { Field, Label } from "@/components/ui/label";
import { ErrorState, InlineError, Spinner } from "@/components/ui/states";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { useToast } from "@/components/ui/toast";
import { Tooltip } from "@/components/ui/tooltip";
import { api } from "@/lib/api";
import { useApi, useDocumentTitle } from "@/lib/hooks";
import { parseJSON, validateSchemaText } from "@/lib/jsonschema";
import { blankPipeline, edgeId, layout, nodeId, toPipeline } from "@/lib/pipeline";
import { slug } from "@/lib/provider";
import { Link, navigate, useParams } from "@/lib/router";
import type { ModelView, NodeData, Pipeline, PluginInfo, Problem, RunResult, StepRecord, ValidationResult } from "@/lib/types";
import { CanvasMap } from "./CanvasMap";
import { duplicatePipeline } from "./duplicate";
import { NodePanel, ProblemList } from "./NodePanel";
import { BuilderContext, nodeTypes, type StepNodeType } from "./nodes";
import { DND_TYPE, Palette, type PaletteItem } from "./Palette";
import { IMPORT_KEY } from "./importKey";
import { prefillText } from "./prefill";
import { RunPanel } from "./RunPanel";
import { useOpeningViewport } from "./useOpeningViewport";
import { YamlDialog } from "./YamlDialog";


function toFlowNodes(p: Pipeline): StepNodeType[] {
  return layout(p.nodes, p.edges).map((n) => ({ id: n.id, type: n.type, position: n.position ?? { x: 0, y: 0 }, data: { ...n.data } as StepNodeType["data"] }));
}

function toFlowEdges(p: Pipeline): Edge[] {
  return p.edges.map((e) => ({ id: e.id || edgeId(e.source, e.target, e.sourceHandle), source: e.source, target: e.target, sourceHandle: e.sourceHandle ?? null, ...edgeStyle(e.sourceHandle) }));
}

function edgeStyle(handle?: string | null): Partial<Edge> {
  if (handle === "true") return { label: "true", style: { stroke: "var(--color-success)" }, labelStyle: { fontSize: 10, fill: "var(--color-success)" } };
  if (handle === "false") return { label: "false", style: { stroke: "var(--color-destructive)" }, labelStyle: { fontSize: 10, fill: "var(--color-destructive)" } };
  return {};
}

interface Meta {
  id: string;
  name: string;
  description: string;
  timeoutMs: string;
  inputSchema: string;
}

export default function BuilderPage() {
  const { id } = useParams();
  const models = useApi((signal) => api.listModels({ sort: "name" }, { signal }), [], 15000, ["models"]);
  const plugins = useApi((signal) => api.plugins({ signal }).catch(() => ({ data: [] as PluginInfo[] })), []);
  const [loaded, setLoaded] = useState<{ pipeline: Pipeline; isNew: boolean; imported: boolean; seq: number } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [attempt, setAttempt] = useState(0);
  const current = useRef<string | null>(null);

  useEffect(() => {
    if (id && id === current.current) return; // the pipeline just saved: keep the builder as it is
    setError(null);
    if (!id) {
      current.current = null;
      const raw = sessionStorage.getItem(IMPORT_KEY);
      sessionStorage.removeItem(IMPORT_KEY);
      let p = blankPipeline();
      if (raw) {
        try {
          p = JSON.parse(raw) as Pipeline;
        } catch {
          /* a broken hand-over: start blank */
        }
      }
      setLoaded((l) => ({ pipeline: p, isNew: true, imported: !!raw, seq: (l?.seq ?? 0) + 1 }));
      return;
    }
    const ctl = new AbortController();
    setLoaded(null);
    api
      .getPipeline(id, { signal: ctl.signal })
      .then((p) => {
        current.current = p.id;
        setLoaded((l) => ({ pipeline: p, isNew: false, imported: false, seq: (l?.seq ?? 0) + 1 }));
      })
      .catch((e: Error) => {
        if (e.name !== "AbortError") setError(e);
      });
    return () => ctl.abort();
  }, [id, attempt]);

  if (error)
    return (
      <div className="p-6">
        <ErrorState title="Cannot open this pipeline" error={error} onRetry={() => setAttempt((a) => a + 1)} />
        <Button variant="link" asChild className="mt-3">
          <Link to="/pipelines">Back to pipelines</Link>
        </Button>
      </div>
    );
  if (!loaded)
    return (
      <div className="p-8">
        <Spinner label="Loading the pipeline" />
      </div>
    );
  return (
    <ReactFlowProvider key={loaded.seq}>
      <Builder
        initial={loaded.pipeline}
        isNew={loaded.isNew}
        imported={loaded.imported}
        models={(models.data?.data ?? []).filter((m) => m.modelType !== "tool")}
        tools={(models.data?.data ?? []).filter((m) => m.modelType === "tool")}
        plugins={plugins.data?.data ?? []}
        onSaved={(p, wasNew) => {
          current.current = p.id;
          if (wasNew) navigate(`/pipelines/${encodeURIComponent(p.id)}`, { replace: true });
        }}
      />
    </ReactFlowProvider>
  );
}

function Builder({
  initial,
  isNew,
  imported,
  models,
  tools,
  plugins,
  onSaved,
}: {
  initial: Pipeline;
  isNew: boolean;
  imported: boolean;
  models: ModelView[];
  /** MCP tools, as the registry lists them (modelType tool). */
  tools: ModelView[];
  plugins: PluginInfo[];
  onSaved: (p: Pipeline, wasNew: boolean) => void;
}) {
  const toast = useToast();
  const rf = useReactFlow();
  const readOnly = initial.managedBy === "config";
  const [meta, setMeta] = useState<Meta>({
    id: initial.id,
    name: initial.name,
    description: initial.description ?? "",
    timeoutMs: initial.timeoutMs ? String(initial.timeoutMs) : "",
    inputSchema: initial.inputSchema !== undefined ? JSON.stringify(initial.inputSchema, null, 2) : "",
  });
  const [nodes, setNodes, onNodesChangeBase] = useNodesState<StepNodeType>(toFlowNodes(initial));
  const [edges, setEdges, onEdgesChangeBase] = useEdgesState<Edge>(toFlowEdges(initial));
  const [savedId, setSavedId] = useState<string | null>(isNew ? null : initial.id);
  const [dirty, setDirty] = useState(imported);
  const [selected, setSelected] = useState<string | null>(null);
  const [tab, setTab] = useState("configure");
  const [validation, setValidation] = useState<{ checking: boolean; result?: ValidationResult; error?: string }>({ checking: true });
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  // Filled in from the input schema, and again when the schema changes, until edited by hand.
  const [runInput, setRunInputText] = useState(() => prefillText(initial.inputSchema));
  const runInputEdited = useRef(false);
  const setRunInput = (v: string) => {
    runInputEdited.current = true;
    setRunInputText(v);
  };
  const [running, setRunning] = useState(false);
  const [run, setRun] = useState<RunResult | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  const [yamlOpen, setYamlOpen] = useState(false);
  const [duplicating, setDuplicating] = useState(false);
  const canvas = useRef<HTMLDivElement>(null);
  const showGraph = useOpeningViewport(canvas);
  useDocumentTitle(meta.name ? `${meta.name} · Pipelines` : "New pipeline");

  const touch = () => setDirty(true);
  const onNodesChange = useCallback(
    (changes: NodeChange<StepNodeType>[]) => {
      if (readOnly) changes = changes.filter((c) => c.type === "select" || c.type === "dimensions");
      if (changes.some((c) => c.type !== "select" && c.type !== "dimensions")) setDirty(true);
      onNodesChangeBase(changes);
    },
    [onNodesChangeBase, readOnly],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange<Edge>[]) => {
      if (readOnly) changes = changes.filter((c) => c.type === "select");
      if (changes.some((c) => c.type !== "select")) setDirty(true);
      onEdgesChangeBase(changes);
    },
    [onEdgesChangeBase, readOnly],
  );

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const schemaCheck = useMemo(() => validateSchemaText(meta.inputSchema), [meta.inputSchema]);
  const schemaValue = schemaCheck.errors.length ? undefined : schemaCheck.value;
  const schemaKey = JSON.stringify(schemaValue ?? null);
  useEffect(() => {
    if (!runInputEdited.current) setRunInputText(prefillText(JSON.parse(schemaKey) ?? undefined));
  }, [schemaKey]);
  const spec = useMemo(
    () =>
      toPipeline(
        {
          id: meta.id.trim(),
          name: meta.name.trim(),
          description: meta.description,
          timeoutMs: Number(meta.timeoutMs) > 0 ? Math.round(Number(meta.timeoutMs)) : undefined,
          inputSchema: schemaValue,
        },
        nodes,
        edges,
      ),
    [meta, nodes, edges, schemaValue],
  );
  // Positions do not change validity: moving a node does not validate again.
  const validationKey = useMemo(() => JSON.stringify({ ...spec, nodes: spec.nodes.map((n) => ({ ...n, position: undefined })) }), [spec]);
  const specRef = useRef(spec);
  specRef.current = spec;

  useEffect(() => {
    const ctl = new AbortController();
    setValidation((v) => ({ ...v, checking: true }));
    const t = setTimeout(() => {
      const p = specRef.current;
      api
        .validatePipeline({ ...p, id: p.id || slug(p.name) || "draft" }, { signal: ctl.signal })
        .then((result) => setValidation({ checking: false, result }))
        .catch((e: Error) => {
          if (e.name !== "AbortError") setValidation({ checking: false, error: e.message });
        });
    }, 400);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [validationKey]);

  const problems = useMemo(() => validation.result?.errors ?? [], [validation.result]);
  const errorsByNode = useMemo(() => {
    const m = new Map<string, Problem[]>();
    for (const p of problems) if (p.node) m.set(p.node, [...(m.get(p.node) ?? []), p]);
    return m;
  }, [problems]);
  const stepsByNode = useMemo(() => {
    const m = new Map<string, StepRecord>();
    for (const s of run?.execution?.steps ?? []) m.set(s.id, s);
    return m;
  }, [run]);
  const modelMap = useMemo(() => new Map(models.map((m) => [m.id, m])), [models]);
  const ctx = useMemo(() => ({ errors: errorsByNode, steps: stepsByNode, models: modelMap }), [errorsByNode, stepsByNode, modelMap]);

  const addNode = useCallback(
    (item: PaletteItem, at?: { x: number; y: number }) => {
      if (readOnly) return;
      let position = at;
      if (!position) {
        const r = canvas.current?.getBoundingClientRect();
        const c = r ? rf.screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 2 }) : { x: 200, y: 200 };
        position = { x: c.x - 104 + (Math.random() * 60 - 30), y: c.y - 30 + (Math.random() * 60 - 30) };
      }
      setNodes((ns) => {
        const nid = nodeId(item.hint, ns.map((n) => n.id));
        setSelected(nid);
        return [...ns.map((n) => ({ ...n, selected: false })), { id: nid, type: item.type, position: position!, data: { ...item.data } as StepNodeType["data"], selected: true }];
      });
      setTab("configure");
      touch();
    },
    [readOnly, rf, setNodes],
  );

  const onDrop = useCallback(
    (e: DragEvent) => {
      e.preventDefault();
      const raw = e.dataTransfer.getData(DND_TYPE);
      if (!raw) return;
      const item = JSON.parse(raw) as PaletteItem;
      const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      addNode(item, { x: p.x - 104, y: p.y - 30 });
    },
    [addNode, rf],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      setEdges((es) => addEdge({ ...c, id: edgeId(c.source, c.target, c.sourceHandle), ...edgeStyle(c.sourceHandle) }, es));
      setDirty(true);
    },
    [setEdges],
  );

  const onSelectionChange = useCallback(({ nodes: sel }: { nodes: StepNodeType[] }) => {
    setSelected(sel.length === 1 ? sel[0].id : null);
  }, []);

  const selectNode = (nid: string) => {
    setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === nid })));
    setSelected(nid);
    setTab("configure");
    const n = rf.getNode(nid);
    if (n) rf.setCenter(n.position.x + 104, n.position.y + 40, { zoom: rf.getZoom(), duration: 300 });
  };

  async function save(): Promise<string | null> {
    if (readOnly) return savedId;
    if (schemaCheck.errors.length) {
      setSaveError(`The input schema is not valid: ${schemaCheck.errors[0]}`);
      setTab("configure");
      setSelected(null);
      return null;
    }
    setSaving(true);
    setSaveError(null);
    try {
      const wasNew = !savedId;
      const saved = savedId ? await api.updatePipeline(savedId, spec) : await api.createPipeline(spec);
      setSavedId(saved.id);
      setMeta((m) => ({ ...m, id: saved.id }));
      setDirty(false);
      toast("success", wasNew ? `Created pipeline ${saved.id}` : `Saved ${saved.name}`);
      onSaved(saved, wasNew);
      return saved.id;
    } catch (e) {
      setSaveError((e as Error).message);
      return null;
    } finally {
      setSaving(false);
    }
  }

  /** Saves a copy (as it is on the canvas) as a new stored pipeline, and opens it. */
  async function duplicate() {
    if (schemaCheck.errors.length) {
      toast("error", `Fix the input schema before duplicating: ${schemaCheck.errors[0]}`);
      return;
    }
    setDuplicating(true);
    try {
      const copy = await duplicatePipeline({ ...spec, id: savedId ?? spec.id });
      setDirty(false);
      toast("success", `Created ${copy.id}: a copy you can edit`);
      navigate(`/pipelines/${encodeURIComponent(copy.id)}`);
    } catch (e) {
      toast("error", `Cannot duplicate: ${(e as Error).message}`);
    } finally {
      setDuplicating(false);
    }
  }

  async function runIt() {
    setTab("run");
    setRunError(null);
    let input: unknown = {};
    if (runInput.trim()) {
      const p = parseJSON(runInput);
      if (p.error) {
        setRunError(`The test input: ${p.error}`);
        return;
      }
      input = p.value;
    }
    let rid = savedId;
    if (!rid || dirty) {
      rid = await save();
      if (!rid) {
        setRunError("Save the pipeline first: it has problems (see above).");
        return;
      }
    }
    setRunning(true);
    setRun(null);
    try {
      setRun(await api.runPipeline(rid, input));
    } catch (e) {
      setRunError((e as Error).message);
    } finally {
      setRunning(false);
    }
  }

  const sel = selected ? nodes.find((n) => n.id === selected) : undefined;
  const hasInput = nodes.some((n) => n.type === "input");
  const hasOutput = nodes.some((n) => n.type === "output");
  const valid = validation.result?.valid;
  const pipelineProblems = problems.filter((p) => !p.node);

  return (
    <BuilderContext.Provider value={ctx}>
      <div className="flex h-full min-h-[560px] flex-col">
        <header className="flex flex-wrap items-center gap-2 border-b bg-card px-4 py-2">
          <Button variant="ghost" size="sm" asChild>
            <Link to="/pipelines">
              <CaretLeft size={14} aria-hidden /> Pipelines
            </Link>
          </Button>
          <div className="min-w-0">
            <h1 className="truncate text-base font-semibold leading-tight">{meta.name || <span className="text-muted-foreground">Untitled pipeline</span>}</h1>
            <p className="truncate font-mono text-[11px] text-muted-foreground">{savedId ? `pipeline:${savedId}` : "not saved yet"}</p>
          </div>
          {readOnly && (
            <Tooltip content="Defined in the config file: change it there (export the YAML) and reload, or duplicate it to edit a copy here. You can still run it.">
              <Badge variant="muted">
                <LockSimple size={11} aria-hidden /> config · read-only
              </Badge>
            </Tooltip>
          )}
          {dirty && !readOnly && <Badge variant="warning">unsaved</Badge>}
          <div className="ml-auto flex flex-wrap items-center gap-2">
            <span className="flex items-center gap-1 text-xs" role="status" aria-live="polite" data-testid="validation-status">
              {validation.checking ? (
                <>
                  <CircleNotch size={14} className="animate-spin text-muted-foreground" aria-hidden /> <span className="text-muted-foreground">Checking…</span>
                </>
              ) : validation.error ? (
                <span className="text-destructive">Cannot validate: {validation.error}</span>
              ) : valid ? (
                <>
                  <CheckCircle size={14} weight="fill" className="text-success" aria-hidden /> <span className="text-success">Valid</span>
                </>
              ) : (
                <button
                  className="flex items-center gap-1 text-destructive hover:underline cursor-pointer"
                  onClick={() => {
                    setSelected(null);
                    setTab("configure");
                  }}
                >
                  <WarningCircle size={14} weight="fill" aria-hidden /> {problems.length} {problems.length === 1 ? "problem" : "problems"}
                </button>
              )}
            </span>
            <Button variant="outline" size="sm" onClick={() => setYamlOpen(true)}>
              <FileCode size={15} aria-hidden /> YAML
            </Button>
            {savedId && (
              <Tooltip content="Save a copy of this pipeline, as it is on the canvas, under a new id, and open it">
                <Button variant="outline" size="sm" onClick={() => void duplicate()} disabled={duplicating || saving}>
                  <Copy size={15} aria-hidden /> {duplicating ? "Duplicating…" : "Duplicate"}
                </Button>
              </Tooltip>
            )}
            {savedId && !readOnly && (
              <Confirm
                trigger={
                  <Button variant="outline" size="sm" className="text-destructive" aria-label="Delete pipeline">
                    <Trash size={15} aria-hidden /> Delete
                  </Button>
                }
                title={`Delete ${meta.name || savedId}?`}
                description={<>Apps calling <code className="font-mono">pipeline:{savedId}</code> will get “model not found”. Past executions stay in the history.</>}
                onConfirm={async () => {
                  await api.deletePipeline(savedId);
                  setDirty(false);
                  toast("success", `Deleted ${meta.name || savedId}`);
                  navigate("/pipelines");
                }}
              />
            )}
            {!readOnly && (
              <Button size="sm" variant="secondary" onClick={() => void save()} disabled={saving}>
                <FloppyDisk size={15} aria-hidden /> {saving ? "Saving…" : "Save"}
              </Button>
            )}
            <Button size="sm" onClick={() => void runIt()} disabled={running || saving}>
              <Play size={15} weight="fill" aria-hidden /> Run
            </Button>
          </div>
          {saveError && <InlineError message={saveError} className="basis-full py-1.5" />}
        </header>
        <div className="flex min-h-0 flex-1">
          <Palette models={models} tools={tools} plugins={plugins} hasInput={hasInput} hasOutput={hasOutput} onAdd={(i) => addNode(i)} disabled={readOnly} />
          <div className="relative min-w-0 flex-1 overflow-hidden" ref={canvas} onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }} onDrop={onDrop} data-testid="canvas">
            <ReactFlow
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onSelectionChange={onSelectionChange}
              isValidConnection={(c) => c.source !== c.target}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              deleteKeyCode={readOnly ? null : ["Backspace", "Delete"]}
              panOnScroll
              minZoom={0.2}
              maxZoom={2}
              proOptions={{ hideAttribution: true }}
              defaultEdgeOptions={{ type: "smoothstep" }}
            >
              <Background variant={BackgroundVariant.Dots} gap={18} size={1} />
              <Controls showInteractive={false} showFitView={false}>
                <ControlButton onClick={() => showGraph(300)} title="Show the graph at a readable zoom" aria-label="Show the graph at a readable zoom">
                  <ArrowsIn aria-hidden />
                </ControlButton>
              </Controls>
              <CanvasMap />
            </ReactFlow>
            {nodes.length <= 2 && !readOnly && (
              <div className="pointer-events-none absolute inset-x-0 top-6 mx-auto w-fit rounded-md border bg-card/90 px-3 py-1.5 text-xs text-muted-foreground shadow-sm">
                Drag models from the palette between Input and Output, then connect them.
              </div>
            )}
            {readOnly && (
              <div className="pointer-events-none absolute left-3 top-3 z-10 flex max-w-[calc(100%-11rem)] items-center gap-2 rounded-md border bg-card/95 px-3 py-1.5 text-xs text-muted-foreground shadow-sm" data-testid="read-only-note">
                <LockSimple size={13} className="shrink-0" aria-hidden />
                <span>Defined in the config file, so read-only here.</span>
                <Button size="xs" variant="secondary" className="pointer-events-auto" onClick={() => void duplicate()} disabled={duplicating}>
                  Duplicate to edit
                </Button>
              </div>
            )}
          </div>
          <aside aria-label="Inspector" className="flex w-80 min-w-0 shrink-0 flex-col border-l bg-card 2xl:w-96">
            <Tabs value={tab} onValueChange={setTab} className="flex min-h-0 flex-1 flex-col">
              <div className="border-b px-3 py-2">
                <TabsList className="w-full">
                  <TabsTrigger value="configure" className="flex-1">
                    {sel ? "Step" : "Pipeline"}
                  </TabsTrigger>
                  <TabsTrigger value="run" className="flex-1">
                    Test run
                  </TabsTrigger>
                </TabsList>
              </div>
              <TabsContent value="configure" className="mt-0 min-h-0 flex-1 overflow-y-auto p-3">
                {sel ? (
                  <NodePanel
                    key={sel.id}
                    id={sel.id}
                    type={sel.type ?? "model"}
                    data={sel.data as NodeData}
                    readOnly={readOnly}
                    models={models}
                    tools={tools}
                    plugins={plugins}
                    problems={errorsByNode.get(sel.id) ?? []}
                    step={stepsByNode.get(sel.id)}
                    outgoing={edges.filter((e) => e.source === sel.id).map((e) => e.target)}
                    onChange={(d) => {
                      setNodes((ns) => ns.map((n) => (n.id === sel.id ? { ...n, data: d as StepNodeType["data"] } : n)));
                      touch();
                    }}
                    onDelete={() => {
                      void rf.deleteElements({ nodes: [{ id: sel.id }] });
                      setSelected(null);
                    }}
                  />
                ) : (
                  <div className="grid gap-3">
                    <div>
                      <h2 className="text-sm font-semibold">Pipeline</h2>
                      <p className="text-xs text-muted-foreground">Select a node to configure it. Apps call the pipeline as the model <code>pipeline:&lt;id&gt;</code>.</p>
                    </div>
                    {pipelineProblems.length > 0 || problems.length > 0 ? (
                      <div className="grid gap-1.5">
                        <Label>Problems</Label>
                        <ProblemList problems={problems} onSelect={selectNode} />
                      </div>
                    ) : null}
                    <Field label="Name" htmlFor="pipeline-name" required>
                      <Input
                        id="pipeline-name"
                        value={meta.name}
                        disabled={readOnly}
                        placeholder="Draft then edit"
                        onChange={(e) => {
                          setMeta((m) => ({ ...m, name: e.target.value }));
                          touch();
                        }}
                      />
                    </Field>
                    <Field label="Id" htmlFor="pipeline-id" hint={savedId ? "The id cannot change." : `Empty: derived from the name${meta.name ? ` (${slug(meta.name)})` : ""}`}>
                      <Input
                        id="pipeline-id"
                        className="font-mono text-xs"
                        value={meta.id}
                        disabled={!!savedId || readOnly}
                        placeholder={slug(meta.name) || "draft-edit"}
                        onChange={(e) => {
                          setMeta((m) => ({ ...m, id: e.target.value }));
                          touch();
                        }}
                      />
                    </Field>
                    <Field label="Description" htmlFor="pipeline-description">
                      <Textarea
                        id="pipeline-description"
                        rows={2}
                        value={meta.description}
                        disabled={readOnly}
                        onChange={(e) => {
                          setMeta((m) => ({ ...m, description: e.target.value }));
                          touch();
                        }}
                      />
                    </Field>
                    <Field label="Timeout (ms)" htmlFor="pipeline-timeout" hint="Bounds a whole run (default 120000)">
                      <Input
                        id="pipeline-timeout"
                        inputMode="numeric"
                        value={meta.timeoutMs}
                        disabled={readOnly}
                        placeholder="120000"
                        onChange={(e) => {
                          setMeta((m) => ({ ...m, timeoutMs: e.target.value }));
                          touch();
                        }}
                      />
                    </Field>
                    <Field label="Input schema" htmlFor="pipeline-schema">
                      <JsonEditor
                        id="pipeline-schema"
                        schema
                        rows={6}
                        value={meta.inputSchema}
                        disabled={readOnly}
                        onChange={(v) => {
                          setMeta((m) => ({ ...m, inputSchema: v }));
                          touch();
                        }}
                      />
                    </Field>
                  </div>
                )}
              </TabsContent>
              <TabsContent value="run" className="mt-0 min-h-0 flex-1 overflow-y-auto overflow-x-hidden p-3" data-testid="run-panel">
                <RunPanel
                  input={runInput}
                  setInput={setRunInput}
                  hasSchema={schemaValue !== undefined}
                  running={running}
                  run={run}
                  error={runError}
                  onRun={() => void runIt()}
                  onSelect={selectNode}
                  needsSave={!savedId || dirty}
                />
              </TabsContent>
            </Tabs>
          </aside>
        </div>
      </div>
      <YamlDialog
        open={yamlOpen}
        onOpenChange={setYamlOpen}
        pipeline={spec}
        readOnly={readOnly}
        onImport={(p) => {
          setMeta((m) => ({
            id: savedId ?? p.id ?? m.id,
            name: p.name,
            description: p.description ?? "",
            timeoutMs: p.timeoutMs ? String(p.timeoutMs) : "",
            inputSchema: p.inputSchema !== undefined ? JSON.stringify(p.inputSchema, null, 2) : "",
          }));
          setNodes(toFlowNodes(p));
          setEdges(toFlowEdges(p));
          setSelected(null);
          setRun(null);
          touch();
          setTimeout(() => showGraph(), 50);
          toast("success", "Loaded the YAML into the builder: save to keep it.");
        }}
      />
    </BuilderContext.Provider>
  );
}
