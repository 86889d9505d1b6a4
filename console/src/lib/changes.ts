// What the console changed on the gateway, announced to every view that shows it: the API
// client announces each successful change, and views that show the topic load again (the
// sidebar's model and key counts, for one, without waiting for their next poll).

export type Topic = "models" | "keys" | "pipelines";

type Listener = (topic: Topic) => void;
const listeners = new Set<Listener>();

/** Announces that the gateway's topic changed. */
export function announceChange(topic: Topic) {
  listeners.forEach((l) => l(topic));
}

/** Calls l on every change announced; returns the unsubscribe function. */
export function onChange(l: Listener): () => void {
  listeners.add(l);
  return () => {
    listeners.delete(l);
  };
}
