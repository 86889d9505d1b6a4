// Shapes of the admin API (see the gateway's registry, policy, pipeline and analytics packages).

export type JSONValue = string | number | boolean | null | JSONValue[] | { [k: string]: JSONValue };

export interface GatewayStatus {
  version: string;
  startedAt?: string;
  listen: string;
  adminListen: string;
  config?: string;
  models: number;
  keys: number;
  lastReload?: unknown;
}

export const MODEL_TYPES = ["llm", "completion", "embedding", "classification", "vision", "audio", "image", "multimodal", "custom"] as const;
export type ModelType = (typeof MODEL_TYPES)[number];
export const POLICIES = ["public", "organization", "private"] as const;
export type SecurityPolicy = (typeof POLICIES)[number];
export const STATUSES = ["available", "degraded", "unavailable"] as const;
export type ModelStatus = (typeof STATUSES)[number];
export const SORT_FIELDS = ["name", "id", "latency", "cost", "owner", "status", "type"] as const;
export const PROVIDERS = ["openai", "anthropic", "huggingface", "ollama", "http"] as const;

export interface Retry {
  attempts: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface ModelMetadata {
  id?: string;
  name: string;
  description?: string;
  endpoint?: string;
  provider?: string;
  upstreamModel?: string;
  modelType?: string;
  owner?: string;
  org?: string;
  allowedKeys?: string[];
  latency?: number;
  costPerToken?: number;
  inputCostPerToken?: number;
  outputCostPerToken?: number;
  securityPolicy?: string;
  inputSchema?: JSONValue;
  outputSchema?: JSONValue;
  tags?: string[];
  apiKey?: string;
  fallbacks?: string[];
  retry?: Retry;
  timeoutMs?: number;
  replicas?: unknown[];
  loadBalancing?: string;
  breaker?: unknown;
  concurrency?: unknown;
  cache?: { ttlSeconds: number };
  healthCheck?: unknown;
  headers?: Record<string, string>;
  http?: unknown;
  config?: Record<string, unknown>;
  transforms?: unknown;
  managedBy?: string;
  createdAt?: string;
  updatedAt?: string;
}

export interface ModelStats {
  requests: number;
  errors: number;
  successRate: number;
  latencyMs: number;
  p50Ms: number;
  p95Ms: number;
  lastError?: string;
  lastErrorAt?: string;
  lastRequestAt?: string;
}

export interface ModelView extends ModelMetadata {
  id: string;
  modelType: string;
  securityPolicy: string;
  hasApiKey: boolean;
  status: ModelStatus | string;
  stats?: ModelStats;
}

export interface ModelQuery {
  q?: string;
  type?: string;
  tag?: string[];
  owner?: string;
  policy?: string;
  status?: string;
  maxLatencyMs?: number;
  maxCostPerToken?: number;
  sort?: string;
}

export interface TestReport {
  ok: boolean;
  model: string;
  servedBy?: string;
  requestId: string;
  status: number;
  latencyMs: number;
  upstreamLatencyMs: number;
  tokens: { input: number; output: number; total: number };
  costUsd: number;
  output?: string;
  request?: JSONValue;
  response?: JSONValue;
  error?: { message: string; type: string; code?: string };
}

export interface Budget {
  usd: number;
  period?: "day" | "week" | "month" | string;
}

export interface Limits {
  rps?: number;
  burst?: number;
  tokensPerMinute?: number;
  budget?: Budget;
}

export interface GatewayKey {
  id: string;
  name: string;
  org?: string;
  models?: string[];
  limits?: Limits;
  prefix: string;
  managedBy: string;
  createdAt?: string;
  usage?: { spentUsd: number; periodStart?: string; tokensThisMinute: number };
}

export interface NewKeyRequest {
  name: string;
  org?: string;
  models?: string[];
  limits?: Limits;
}

export interface CreatedKey extends GatewayKey {
  key: string;
}

export const NODE_TYPES = ["input", "output", "model", "transform", "condition", "router", "merge"] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export interface NodeData {
  label?: string;
  model?: string;
  input?: string;
  retries?: number;
  timeoutMs?: number;
  fallbacks?: string[];
  plugin?: string;
  config?: unknown;
  expression?: string;
  strategy?: "expression" | "cost" | "latency" | "quality" | string;
  capability?: string;
  maxLatencyMs?: number;
  maxCostPerToken?: number;
  mode?: "object" | "list" | "text" | string;
  output?: string;
  onError?: "fail" | "continue" | string;
}

export interface PipelineNode {
  id: string;
  type: NodeType | string;
  position?: { x: number; y: number };
  data: NodeData;
}

export interface PipelineEdge {
  id?: string;
  source: string;
  target: string;
  sourceHandle?: string;
}

export interface Problem {
  node?: string;
  field?: string;
  message: string;
}

export interface Pipeline {
  id: string;
  name: string;
  description?: string;
  nodes: PipelineNode[];
  edges: PipelineEdge[];
  inputSchema?: JSONValue;
  /** the inputSchema property a chat request's last user message fills */
  chatInput?: string;
  timeoutMs?: number;
  managedBy?: string;
  createdAt?: string;
  updatedAt?: string;
  problems?: Problem[];
}

export interface ValidationResult {
  valid: boolean;
  errors: Problem[];
}

export interface StepRecord {
  id: string;
  type: string;
  label?: string;
  status: "pending" | "running" | "ok" | "error" | "skipped" | "canceled" | string;
  model?: string;
  servedBy?: string;
  fallback?: string;
  retries?: number;
  invocation?: string;
  startMs: number;
  latencyMs: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  input?: unknown;
  output?: unknown;
  error?: string;
  result?: boolean;
  route?: string;
}

export interface PipelineExecution {
  id: string;
  kind: "pipeline";
  time: string;
  pipeline: string;
  pipelineName?: string;
  model: string;
  key?: string;
  keyId?: string;
  org?: string;
  status: "running" | "ok" | "error" | string;
  error?: string;
  failedStep?: string;
  async?: boolean;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  input?: unknown;
  output?: unknown;
  steps: StepRecord[];
}

export interface Attempt {
  model: string;
  provider?: string;
  upstream?: string;
  status?: number;
  error?: string;
  latencyMs: number;
  /** When the attempt started, in ms from the call's first attempt: not sent by the gateway today. */
  startMs?: number;
  /** The wait before this attempt (a retry's backoff): not sent by the gateway today. */
  backoffMs?: number;
}

export interface Invocation {
  id: string;
  kind: "invocation";
  time: string;
  op: string;
  model: string;
  servedBy?: string;
  provider?: string;
  key?: string;
  keyId?: string;
  org?: string;
  status: "ok" | "error" | string;
  httpStatus: number;
  errorKind?: string;
  error?: string;
  stream?: boolean;
  latencyMs: number;
  upstreamLatencyMs: number;
  firstByteMs?: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  retries?: number;
  fallback?: string;
  cache?: string;
  attempts?: Attempt[];
  pipeline?: string;
  execution?: string;
  step?: string;
}

export type ExecutionRecord = PipelineExecution | Invocation;

export interface ExecutionQuery {
  kind?: "invocation" | "pipeline" | "";
  pipeline?: string;
  model?: string;
  key?: string;
  org?: string;
  status?: "ok" | "error" | "";
  since?: string;
  until?: string;
  limit?: number;
  before?: string;
}

export interface ExecutionPage {
  data: ExecutionRecord[];
  next?: string;
}

export interface RunResult {
  executionId: string;
  status: string;
  output?: unknown;
  text?: string;
  execution?: PipelineExecution;
}

export interface LatencySummary {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface AnalyticsPoint {
  t: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: LatencySummary;
}

export interface AnalyticsTotal {
  key: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: LatencySummary;
}

export interface AnalyticsReport {
  from: string;
  to: string;
  step: string;
  group: string;
  series: { key: string; points: AnalyticsPoint[] }[];
  totals: AnalyticsTotal[];
  overall: AnalyticsTotal;
}

export interface PluginInfo {
  name: string;
  kind: "wasm" | "process" | string;
  roles: string[];
  language?: string;
  path: string;
  state: string;
  pid?: number;
  restarts?: number;
  calls: number;
  errors: number;
  latencyMs: { mean: number; p50: number; p95: number };
}

export interface OpenAPIDocument {
  openapi?: string;
  info?: { title?: string; version?: string; description?: string };
  servers?: { url: string; description?: string }[];
  tags?: { name: string; description?: string }[];
  paths?: Record<string, Record<string, OpenAPIOperation | unknown>>;
  components?: Record<string, unknown>;
}

export interface OpenAPIOperation {
  summary?: string;
  description?: string;
  operationId?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: unknown; $ref?: string }[];
  requestBody?: unknown;
  responses?: Record<string, { description?: string } | unknown>;
  security?: unknown;
  deprecated?: boolean;
}
