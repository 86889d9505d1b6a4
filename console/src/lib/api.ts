// The admin API client. Every call carries the admin token; a 401 from any call signs the user
// out (the token is forgotten and the sign-in prompt comes back).
import type {
  AnalyticsReport,
  ClusterView,
  CreatedKey,
  ErrorAnswer,
  ExecutionPage,
  ExecutionQuery,
  ExecutionRecord,
  GatewayStatus,
  KeyList,
  ModelMetadata,
  ModelPage,
  ModelQuery,
  ModelView,
  NewKeyRequest,
  OpenAPIDocument,
  Pipeline,
  PipelineInput,
  PipelinePage,
  PluginList,
  RunResult,
  TestReport,
  UpdatedModel,
  ValidationResult,
} from "./types";
import { announceChange, type Topic } from "./changes";

const TOKEN_KEY = "iom.adminToken";

/** An error answered by the API (its OpenAI-style error object), or a network failure. */
export class ApiError extends Error {
  status: number;
  type?: string;
  code?: string;
  param?: string;
  constructor(message: string, status: number, type?: string, code?: string, param?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }
}

type AuthListener = (reason: string | null) => void;
const listeners = new Set<AuthListener>();

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string) {
  sessionStorage.setItem(TOKEN_KEY, token);
  listeners.forEach((l) => l(null));
}

/** Forgets the token; reason (if any) is shown on the sign-in prompt. */
export function signOut(reason: string | null = null) {
  sessionStorage.removeItem(TOKEN_KEY);
  listeners.forEach((l) => l(reason));
}

export function onAuthChange(l: AuthListener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Use this token instead of the stored one (signing in). */
  token?: string;
  /** Answers with these statuses are returned as data instead of thrown. */
  accept?: number[];
}

function query(params: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)));
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: unknown = null;
  const text = await res.text().catch(() => "");
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  // The gateway's error answers are ErrorAnswer; anything else (a proxy's page) is told apart.
  const e = (body as Partial<ErrorAnswer> | null)?.error;
  if (e?.message) return new ApiError(e.message, res.status, e.type, e.code ?? undefined, e.param ?? undefined);
  const fallback = text.trim() && text.length < 300 ? text.trim() : `${res.status} ${res.statusText || "error"}`;
  return new ApiError(`The gateway answered ${fallback}`, res.status);
}

export async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const token = opts.token ?? getToken();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, signal: opts.signal });
  } catch (err) {
    if ((err as Error)?.name === "AbortError") throw err;
    throw new ApiError("Cannot reach the gateway: check that it is running and that this page is served by its admin port.", 0, "network_error");
  }
  if (res.status === 401) {
    const e = await errorOf(res);
    if (!opts.token) signOut(e.message);
    throw e;
  }
  if (!res.ok && !opts.accept?.includes(res.status)) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError("The gateway answered with something that is not JSON.", res.status);
  }
}

const enc = encodeURIComponent;

/** Waits for a change and, when it succeeded, announces it (see changes.ts). */
async function changes<T>(topic: Topic, call: Promise<T>): Promise<T> {
  const out = await call;
  announceChange(topic);
  return out;
}

export const api = {
  status: (opts?: RequestOptions) => request<GatewayStatus>("GET", "/api/status", undefined, opts),

  listModels: (q: ModelQuery = {}, opts?: RequestOptions) =>
    request<ModelPage>("GET", `/api/models${query({ ...q })}`, undefined, opts),
  getModel: (id: string, opts?: RequestOptions) => request<ModelView>("GET", `/api/models/${enc(id)}`, undefined, opts),
  createModel: (m: ModelMetadata) => changes("models", request<ModelView>("POST", "/api/models", m)),
  updateModel: (id: string, m: ModelMetadata) => changes("models", request<UpdatedModel>("PUT", `/api/models/${enc(id)}`, m)),
  deleteModel: (id: string) => changes("models", request<void>("DELETE", `/api/models/${enc(id)}`)),
  testModel: (id: string, body?: unknown, opts?: RequestOptions) =>
    request<TestReport>("POST", `/api/models/${enc(id)}/test`, body === undefined ? "" : body, opts),

  listKeys: (opts?: RequestOptions) => request<KeyList>("GET", "/api/keys", undefined, opts),
  createKey: (k: NewKeyRequest) => changes("keys", request<CreatedKey>("POST", "/api/keys", k)),
  revokeKey: (id: string) => changes("keys", request<void>("DELETE", `/api/keys/${enc(id)}`)),

  listPipelines: (opts?: RequestOptions) => request<PipelinePage>("GET", "/api/pipelines", undefined, opts),
  getPipeline: (id: string, opts?: RequestOptions) => request<Pipeline>("GET", `/api/pipelines/${enc(id)}`, undefined, opts),
  createPipeline: (p: PipelineInput) => changes("pipelines", request<Pipeline>("POST", "/api/pipelines", p)),
  updatePipeline: (id: string, p: PipelineInput) => changes("pipelines", request<Pipeline>("PUT", `/api/pipelines/${enc(id)}`, p)),
  deletePipeline: (id: string) => changes("pipelines", request<void>("DELETE", `/api/pipelines/${enc(id)}`)),
  validatePipeline: (p: PipelineInput, opts?: RequestOptions) => request<ValidationResult>("POST", "/api/pipelines/validate", p, opts),
  /** Runs a pipeline. A run that failed still answers with its execution (and a 4xx/5xx status). */
  runPipeline: async (id: string, input: unknown, opts?: RequestOptions): Promise<RunResult> => {
    const res = await request<RunResult | ErrorAnswer>(
      "POST",
      `/api/pipelines/${enc(id)}/run`,
      JSON.stringify(input),
      { ...opts, accept: [400, 402, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504] },
    );
    if (res && !("executionId" in res) && "error" in res) {
      throw new ApiError(res.error.message, 400, res.error.type, res.error.code ?? undefined, res.error.param ?? undefined);
    }
    return res;
  },

  listExecutions: (q: ExecutionQuery = {}, opts?: RequestOptions) =>
    request<ExecutionPage>("GET", `/api/executions${query({ ...q })}`, undefined, opts),
  getExecution: (id: string, opts?: RequestOptions) => request<ExecutionRecord>("GET", `/api/executions/${enc(id)}`, undefined, opts),

  analytics: (q: { range?: string; step?: string; group?: string }, opts?: RequestOptions) =>
    request<AnalyticsReport>("GET", `/api/analytics${query(q)}`, undefined, opts),

  plugins: (opts?: RequestOptions) => request<PluginList>("GET", "/api/plugins", undefined, opts),
  cluster: (opts?: RequestOptions) => request<ClusterView>("GET", "/api/cluster", undefined, opts),

  /** The OpenAPI document, or null when the gateway does not serve one. */
  openapi: async (opts?: RequestOptions): Promise<OpenAPIDocument | null> => {
    try {
      return await request<OpenAPIDocument>("GET", "/api/openapi.json", undefined, opts);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
      throw e;
    }
  },
};
