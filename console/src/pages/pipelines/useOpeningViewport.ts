import { useNodesInitialized, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useRef, type RefObject } from "react";
import { openingViewport } from "./viewport";

/**
 * Shows the graph at a readable zoom (see openingViewport) once its nodes are measured, and
 * returns the function that does it again (the fit button, a YAML import).
 */
export function useOpeningViewport(canvas: RefObject<HTMLElement | null>): (duration?: number) => void {
  const rf = useReactFlow();
  const measured = useNodesInitialized();
  const done = useRef(false);
  const show = useCallback(
    (duration = 0) => {
      const el = canvas.current;
      const nodes = rf.getNodes();
      if (!el || nodes.length === 0) return;
      void rf.setViewport(openingViewport(rf.getNodesBounds(nodes), el.clientWidth, el.clientHeight), { duration });
    },
    [rf, canvas],
  );
  useEffect(() => {
    if (!measured || done.current) return;
    done.current = true;
    show();
  }, [measured, show]);
  return show;
}
