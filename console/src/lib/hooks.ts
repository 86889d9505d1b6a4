import { useCallback, useEffect, useRef, useState } from "react";
import { onChange, type Topic } from "./changes";

export interface Loadable<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
  /** Loads again; the current data stays until the new answer is there. */
  reload: () => void;
  setData: (d: T | undefined) => void;
}

/**
 * Calls load when deps change (and every pollMs, when given, and whenever the console changes
 * one of the refreshOn topics), aborting calls whose answer is no longer wanted.
 */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs?: number, refreshOn: Topic[] = []): Loadable<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    loadRef
      .current(ctl.signal)
      .then((d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError(null);
      })
      .catch((e: Error) => {
        if (ctl.signal.aborted || e?.name === "AbortError") return;
        setError(e);
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  useEffect(() => {
    if (!pollMs) return;
    const t = setInterval(() => {
      if (document.visibilityState !== "hidden") setTick((n) => n + 1);
    }, pollMs);
    return () => clearInterval(t);
  }, [pollMs]);

  const topics = refreshOn.join(",");
  useEffect(() => {
    if (!topics) return;
    const wanted = topics.split(",");
    return onChange((t) => {
      if (wanted.includes(t)) setTick((n) => n + 1);
    });
  }, [topics]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload, setData };
}

export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function useDocumentTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · IoM` : "IoM console";
  }, [title]);
}
