// The node types of the builder: how each is named, drawn and explained (no React Flow here, so
// the pipelines list can use it without loading the canvas).
import { Cube, FlagCheckered, GitFork, GitMerge, MagicWand, Signpost, SignIn, Wrench, type Icon } from "@phosphor-icons/react";

export const nodeKinds: Record<string, { label: string; icon: Icon; color: string; help: string }> = {
  input: { label: "Input", icon: SignIn, color: "text-emerald-600 bg-emerald-50", help: "Where the pipeline's input enters. One per pipeline." },
  output: { label: "Output", icon: FlagCheckered, color: "text-slate-700 bg-slate-100", help: "What the pipeline answers. One per pipeline." },
  model: { label: "Model", icon: Cube, color: "text-indigo-600 bg-indigo-50", help: "Calls a registered model with retries and fallbacks." },
  tool: { label: "Tool", icon: Wrench, color: "text-orange-600 bg-orange-50", help: "Calls an MCP tool with arguments from earlier steps." },
  transform: { label: "Transform", icon: MagicWand, color: "text-fuchsia-600 bg-fuchsia-50", help: "Runs a WASM or process plugin on the value." },
  condition: { label: "Condition", icon: GitFork, color: "text-amber-600 bg-amber-50", help: "Takes the true or the false branch." },
  router: { label: "Router", icon: Signpost, color: "text-sky-600 bg-sky-50", help: "Picks one route: by expression, or the cheapest, fastest or best model." },
  merge: { label: "Merge", icon: GitMerge, color: "text-teal-600 bg-teal-50", help: "Joins branches into an object, a list or text." },
};
