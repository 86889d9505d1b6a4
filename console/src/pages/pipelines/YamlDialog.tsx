import { DownloadSimple, UploadSimple } from "@phosphor-icons/react";
import { useEffect, useRef, useState } from "react";
import { Button } from "@/components/ui/button";
import { CodeBlock } from "@/components/ui/code";
import { Dialog, DialogBody, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { InlineError } from "@/components/ui/states";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { fromYAML, toYAML } from "@/lib/pipelineYaml";
import type { Pipeline } from "@/lib/types";

export function download(name: string, text: string, type = "application/yaml") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Reads YAML from a paste or a file; onImport gets the pipeline. */
export function YamlImport({ onImport, submitLabel = "Load into the builder" }: { onImport: (p: Pipeline) => void; submitLabel?: string }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const file = useRef<HTMLInputElement>(null);
  return (
    <div className="grid gap-2">
      <div className="flex items-center justify-between">
        <Label htmlFor="yaml-import">Pipeline YAML</Label>
        <Button size="xs" variant="ghost" onClick={() => file.current?.click()}>
          <UploadSimple size={13} aria-hidden /> Choose a file
        </Button>
        <input
          ref={file}
          type="file"
          accept=".yaml,.yml,.json,text/yaml,application/json"
          className="hidden"
          aria-label="Pipeline file"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            if (f) setText(await f.text());
            e.target.value = "";
          }}
        />
      </div>
      <Textarea
        id="yaml-import"
        rows={14}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setError(null);
        }}
        className="font-mono text-xs"
        spellCheck={false}
        placeholder={"pipelines:\n  - id: draft-edit\n    name: Draft then edit\n    nodes:\n      - {id: in, type: input}\n      - {id: draft, type: model, data: {model: writer}}\n      - {id: out, type: output}\n    edges:\n      - {source: in, target: draft}\n      - {source: draft, target: out}"}
      />
      <p className="text-[11px] text-muted-foreground">A config file's <code>pipelines:</code> entry (the first one is taken), a list, or one pipeline. Nodes without a position are laid out for you.</p>
      <InlineError message={error} />
      <div className="flex justify-end">
        <Button
          onClick={() => {
            const r = fromYAML(text);
            if (r.error || !r.pipeline) setError(r.error ?? "Cannot read this pipeline.");
            else onImport(r.pipeline);
          }}
        >
          {submitLabel}
        </Button>
      </div>
    </div>
  );
}

export function YamlDialog({ open, onOpenChange, pipeline, onImport, readOnly }: { open: boolean; onOpenChange: (o: boolean) => void; pipeline: Pipeline; onImport: (p: Pipeline) => void; readOnly: boolean }) {
  const [tab, setTab] = useState("export");
  useEffect(() => {
    if (open) setTab("export");
  }, [open]);
  const yaml = open ? toYAML(pipeline) : "";
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent wide>
        <DialogHeader>
          <DialogTitle>Pipeline as YAML</DialogTitle>
          <DialogDescription>The config file's format: paste it under <code>pipelines:</code> in iom.yaml to manage the pipeline from the file.</DialogDescription>
        </DialogHeader>
        <DialogBody>
          <Tabs value={tab} onValueChange={setTab}>
            <TabsList>
              <TabsTrigger value="export">Export</TabsTrigger>
              {!readOnly && <TabsTrigger value="import">Import</TabsTrigger>}
            </TabsList>
            <TabsContent value="export" className="grid gap-2">
              <CodeBlock value={yaml} maxHeight="max-h-[55vh]" label="Pipeline YAML" />
              <div className="flex justify-end">
                <Button variant="outline" onClick={() => download(`${pipeline.id || "pipeline"}.yaml`, yaml)}>
                  <DownloadSimple size={15} aria-hidden /> Download
                </Button>
              </div>
            </TabsContent>
            {!readOnly && (
              <TabsContent value="import">
                <YamlImport
                  submitLabel="Replace the canvas"
                  onImport={(p) => {
                    onImport(p);
                    onOpenChange(false);
                  }}
                />
              </TabsContent>
            )}
          </Tabs>
        </DialogBody>
      </DialogContent>
    </Dialog>
  );
}
