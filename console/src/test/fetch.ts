import { vi } from "vitest";

export type Handler = (req: { method: string; url: URL; body: unknown; headers: Record<string, string> }) => { status?: number; body?: unknown } | undefined;

/** Replaces fetch with a router over handlers (first answer wins); records every call. */
export function mockFetch(...handlers: Handler[]) {
  const calls: { method: string; url: URL; body: unknown; headers: Record<string, string> }[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://console.test");
    const method = init?.method ?? "GET";
    const headers = (init?.headers ?? {}) as Record<string, string>;
    let body: unknown = undefined;
    if (typeof init?.body === "string" && init.body) {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = init.body;
      }
    }
    const req = { method, url, body, headers };
    calls.push(req);
    for (const h of handlers) {
      const r = h(req);
      if (r) {
        const status = r.status ?? 200;
        return new Response(status === 204 ? null : JSON.stringify(r.body ?? {}), { status, headers: { "Content-Type": "application/json" } });
      }
    }
    return new Response(JSON.stringify({ error: { message: `no mock for ${method} ${url.pathname}`, type: "not_found" } }), { status: 404 });
  });
  vi.stubGlobal("fetch", fn);
  return { fn, calls };
}

export const route =
  (method: string, path: string | RegExp, answer: (req: Parameters<Handler>[0]) => { status?: number; body?: unknown }): Handler =>
  (req) =>
    req.method === method && (typeof path === "string" ? req.url.pathname === path : path.test(req.url.pathname)) ? answer(req) : undefined;
