// Shapes of the admin API. Those the gateway's OpenAPI document describes come from api.gen.ts,
// which openapi-typescript generates from it (npm run gen:api; see README.md): they change when
// the gateway's Go types do, and tsc then shows what in the console must follow. The rest (query
// parameters, which the document types only as strings, constants for the forms, the document's
// own shape) are written here.
import type { components, paths } from "./api.gen";

type Schemas = components["schemas"];
/** The JSON answer of a GET of path (status 200). */
type Answer<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { "application/json": infer T } } } } } ? T : never;

export type JSONValue = string | number | boolean | null | JSONValue[] | { [k: string]: JSONValue };

/** An error answer: {"error": {message, type, code, param}}. */
export type ErrorAnswer = Schemas["Error"];
export type ErrorDetail = Schemas["ServererrorDetail"];

export type GatewayStatus = Schemas["ServergatewayStatus"];
export type ReloadStatus = Schemas["ServerReloadStatus"];

export const MODEL_TYPES = ["llm", "completion", "embedding", "classification", "vision", "audio", "image", "multimodal", "custom"] as const;
export type ModelType = (typeof MODEL_TYPES)[number];
export const POLICIES = ["public", "organization", "private"] as const;
export type SecurityPolicy = (typeof POLICIES)[number];
export const STATUSES = ["available", "degraded", "unavailable"] as const;
export type ModelStatus = (typeof STATUSES)[number];
export const SORT_FIELDS = ["name", "id", "latency", "cost", "owner", "status", "type"] as const;
export const PROVIDERS = ["openai", "anthropic", "gemini", "azure", "bedrock", "huggingface", "ollama", "http"] as const;

export type Retry = Schemas["SpecRetry"];
/** A model as it is sent to be created or updated (its apiKey is write-only). */
export type ModelMetadata = Schemas["SpecModel"];
export type ModelStats = Schemas["RegistryStats"];
/** A model as the API shows it: no secret, with its status and stats. */
export type ModelView = Schemas["RegistryView"];
/** The answer to an update: the model and what the update did beyond what it was asked. */
export type UpdatedModel = Schemas["ServerupdatedModel"];
export type ModelPage = Answer<"/api/models">;

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

export type TestReport = Schemas["ServertestReport"];

export type Budget = Schemas["SpecBudget"];
export type Limits = Schemas["SpecLimits"];
export type KeyUsage = Schemas["PolicyUsage"];
/** A key as the API lists it, with what it has used. */
export type GatewayKey = Schemas["ServerlistedKey"];
export type NewKeyRequest = Schemas["PolicyNewKeyRequest"];
/** A new key, with its value (shown only this once). */
export type CreatedKey = Schemas["ServernewKeyAnswer"];
export type KeyList = Answer<"/api/keys">;

export const NODE_TYPES = ["input", "output", "model", "tool", "transform", "condition", "router", "merge"] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export type NodeData = Schemas["SpecNodeData"];
export type PipelineNode = Schemas["SpecNode"];
export type PipelineEdge = Schemas["SpecEdge"];
export type Problem = Schemas["SpecProblem"];
/** A pipeline as the API shows it, with its problems. */
export type Pipeline = Schemas["ServerpipelineEntry"];
/** A pipeline as it is sent to be created, updated or validated (problems are ignored). */
export type PipelineInput = Schemas["ServerpipelineInput"];
export type PipelinePage = Answer<"/api/pipelines">;
export type ValidationResult = Schemas["Servervalidation"];

export type StepRecord = Schemas["PipelineStepRecord"];
export type PipelineExecution = Schemas["PipelineExecution"];
export type Attempt = Schemas["AnalyticsAttempt"];
export type Invocation = Schemas["AnalyticsInvocation"];
/** An invocation or a pipeline execution, as kind says. */
export type ExecutionRecord = Schemas["ServerexecutionRecord"];

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

export type ExecutionPage = Schemas["ServerexecutionList"];
export type RunResult = Schemas["ServerrunAnswer"];

export type LatencySummary = Schemas["AnalyticsLatency"];
export type AnalyticsPoint = Schemas["AnalyticsPoint"];
export type AnalyticsSeries = Schemas["AnalyticsSeries"];
export type AnalyticsTotal = Schemas["AnalyticsTotal"];
export type AnalyticsReport = Schemas["AnalyticsReport"];

export type PluginInfo = Schemas["HubPluginInfo"];
export type PluginList = Answer<"/api/plugins">;
export type ClusterView = Answer<"/api/cluster">;

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
