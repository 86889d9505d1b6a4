import { MapTrifold, X } from "@phosphor-icons/react";
import { MiniMap, Panel } from "@xyflow/react";
import { useState } from "react";

const KEY = "iom.builderMap";
const WIDTH = 132;
const HEIGHT = 88;

function remembered(): boolean {
  try {
    return localStorage.getItem(KEY) !== "closed";
  } catch {
    return true;
  }
}

/**
 * The canvas's minimap: small, in the top-right corner (away from the bottom-left controls and
 * from where graphs open, centered or against the left), and folded away with one click — a
 * handle under it could not be dragged. The choice is remembered.
 */
export function CanvasMap() {
  const [open, setOpen] = useState(remembered);
  const toggle = () => {
    setOpen(!open);
    try {
      localStorage.setItem(KEY, open ? "closed" : "open");
    } catch {
      /* private mode: remember for this page only */
    }
  };
  return (
    <Panel position="top-right" className="!m-2 flex flex-col items-end gap-1" data-testid="canvas-map">
      <button
        type="button"
        onClick={toggle}
        aria-expanded={open}
        aria-label={open ? "Hide the map" : "Show the map"}
        title={open ? "Hide the map" : "Show the map"}
        className="flex h-6 items-center gap-1 rounded border bg-card px-1.5 text-[11px] text-muted-foreground shadow-xs hover:text-foreground cursor-pointer"
      >
        {open ? <X size={12} aria-hidden /> : <MapTrifold size={13} aria-hidden />}
        {open ? null : "Map"}
      </button>
      {open && (
        <MiniMap
          pannable
          zoomable
          ariaLabel="Map of the pipeline"
          className="!static !m-0 rounded border !bg-card shadow-xs"
          style={{ width: WIDTH, height: HEIGHT }}
          maskColor="rgb(240 240 245 / 0.6)"
        />
      )}
    </Panel>
  );
}
