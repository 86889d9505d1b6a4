// Where the builder's canvas opens: readable first, whole second. Fitting a wide graph into the
// canvas shrank its text to a few pixels; now the zoom stays at or above MIN_OPEN_ZOOM and a
// graph too large for that is scrolled or panned to.

export const MIN_OPEN_ZOOM = 0.8;
export const MAX_OPEN_ZOOM = 1;
/** Space kept between the graph and the canvas's edges, in screen pixels. */
export const OPEN_PADDING = 32;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

/**
 * The viewport that shows the graph within bounds (flow coordinates) on a canvas of width ×
 * height: the zoom that fits it, kept between MIN_OPEN_ZOOM and MAX_OPEN_ZOOM. Along an axis
 * where the graph then fits it is centered; where it does not, its start (the left, where the
 * input usually is, or the top) is shown with the padding.
 */
export function openingViewport(bounds: Rect, width: number, height: number, padding = OPEN_PADDING): Viewport {
  const fit = Math.min((width - 2 * padding) / Math.max(bounds.width, 1), (height - 2 * padding) / Math.max(bounds.height, 1));
  const zoom = Math.min(Math.max(fit, MIN_OPEN_ZOOM), MAX_OPEN_ZOOM);
  const place = (start: number, size: number, view: number) => {
    const len = size * zoom;
    return len <= view - 2 * padding ? (view - len) / 2 - start * zoom : padding - start * zoom;
  };
  return { x: place(bounds.x, bounds.width, width), y: place(bounds.y, bounds.height, height), zoom };
}
