// The register/edit model form: its state (strings, as typed), a Zod schema that checks it and
// turns it into ModelMetadata, and the mapping of the API's error params back to fields.
import { z } from "zod";
import { validateSchemaText } from "@/lib/jsonschema";
import { API_VERSION_PATTERN, AWS_KEY_PATTERN, AWS_REGION_PATTERN, fieldsOf } from "@/lib/provider";
import { MODEL_TYPES, POLICIES, type JSONValue, type ModelMetadata, type ModelView } from "@/lib/types";

export interface ModelFormState {
  id: string;
  name: string;
  description: string;
  modelType: string;
  owner: string;
  org: string;
  tags: string;
  endpoint: string;
  provider: string;
  upstreamModel: string;
  /** Azure OpenAI's api-version, sent as config.apiVersion. */
  apiVersion: string;
  /** A Bedrock model's AWS region, sent as config.region. */
  region: string;
  apiKey: string;
  timeoutMs: string;
  latency: string;
  costPerToken: string;
  inputCostPerToken: string;
  outputCostPerToken: string;
  securityPolicy: string;
  /** Ids of the keys a private model allows (names are unique only within an org). */
  allowedKeys: string[];
  fallbacks: string[];
  retryAttempts: string;
  retryBackoffMs: string;
  retryMaxBackoffMs: string;
  cacheTtlSeconds: string;
  inputSchema: string;
  outputSchema: string;
}

export type FormErrors = Partial<Record<keyof ModelFormState, string>>;

/** The org of a model registered without one, and of keys created without one. */
export const DEFAULT_ORG = "default";
/** The policy of a model registered without one: only keys of its org may use it. */
export const DEFAULT_POLICY = "organization";

export const emptyModelForm: ModelFormState = {
  id: "",
  name: "",
  description: "",
  modelType: "llm",
  owner: "",
  org: "",
  tags: "",
  endpoint: "",
  provider: "",
  upstreamModel: "",
  apiVersion: "",
  region: "",
  apiKey: "",
  timeoutMs: "",
  latency: "",
  costPerToken: "",
  inputCostPerToken: "",
  outputCostPerToken: "",
  securityPolicy: DEFAULT_POLICY,
  allowedKeys: [],
  fallbacks: [],
  retryAttempts: "",
  retryBackoffMs: "",
  retryMaxBackoffMs: "",
  cacheTtlSeconds: "",
  inputSchema: "",
  outputSchema: "",
};

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));
const json = (v: unknown) => (v === undefined || v === null ? "" : JSON.stringify(v, null, 2));

/** The form state for an existing model. The API key is never returned, so it starts empty. */
export function formFromModel(m: ModelView): ModelFormState {
  return {
    id: m.id,
    name: m.name ?? "",
    description: str(m.description),
    modelType: m.modelType || "llm",
    owner: str(m.owner),
    org: str(m.org),
    tags: (m.tags ?? []).join(", "),
    endpoint: str(m.endpoint),
    provider: str(m.provider),
    upstreamModel: m.upstreamModel && m.upstreamModel !== m.id ? m.upstreamModel : "",
    apiVersion: str(m.config?.apiVersion),
    region: str(m.config?.region),
    apiKey: "",
    timeoutMs: str(m.timeoutMs || ""),
    latency: str(m.latency || ""),
    costPerToken: str(m.costPerToken || ""),
    inputCostPerToken: str(m.inputCostPerToken),
    outputCostPerToken: str(m.outputCostPerToken),
    securityPolicy: m.securityPolicy || DEFAULT_POLICY,
    allowedKeys: m.allowedKeys ?? [],
    fallbacks: m.fallbacks ?? [],
    retryAttempts: m.retry ? str(m.retry.attempts) : "",
    retryBackoffMs: str(m.retry?.backoffMs || ""),
    retryMaxBackoffMs: str(m.retry?.maxBackoffMs || ""),
    cacheTtlSeconds: str(m.cache?.ttlSeconds || ""),
    inputSchema: json(m.inputSchema),
    outputSchema: json(m.outputSchema),
  };
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** An optional non-negative number typed as text: "" is absent. */
const optNumber = (what: string, opts: { integer?: boolean; min?: number; max?: number } = {}) =>
  z
    .string()
    .trim()
    .transform((s, ctx) => {
      if (s === "") return undefined;
      const n = Number(s);
      if (!Number.isFinite(n)) {
        ctx.addIssue({ code: "custom", message: `${what} must be a number` });
        return z.NEVER;
      }
      if (opts.integer && !Number.isInteger(n)) {
        ctx.addIssue({ code: "custom", message: `${what} must be a whole number` });
        return z.NEVER;
      }
      const min = opts.min ?? 0;
      if (n < min) {
        ctx.addIssue({ code: "custom", message: min === 0 ? `${what} must not be negative` : `${what} must be at least ${min}` });
        return z.NEVER;
      }
      if (opts.max !== undefined && n > opts.max) {
        ctx.addIssue({ code: "custom", message: `${what} must be at most ${opts.max}` });
        return z.NEVER;
      }
      return n;
    });

const schemaText = (what: string) =>
  z.string().transform((s, ctx) => {
    const r = validateSchemaText(s);
    if (r.errors.length) {
      ctx.addIssue({ code: "custom", message: `${what}: ${r.errors.slice(0, 3).join("; ")}${r.errors.length > 3 ? ` (and ${r.errors.length - 3} more)` : ""}` });
      return z.NEVER;
    }
    return r.value as JSONValue | undefined;
  });

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export const modelFormSchema = z
  .object({
    id: z
      .string()
      .trim()
      .refine((s) => s === "" || idPattern.test(s), "Use 1-128 letters, digits or ._:@- starting with a letter or digit")
      .refine((s) => s !== "auto" && !s.startsWith("pipeline:"), "This id is reserved"),
    name: z.string().trim().min(1, "A name is required").max(200, "Keep the name under 200 characters"),
    description: z.string().trim(),
    modelType: z.enum(MODEL_TYPES, { message: "Choose a model type" }),
    owner: z.string().trim(),
    org: z.string().trim(),
    tags: z.string().transform(list),
    endpoint: z
      .string()
      .trim()
      .refine((s) => {
        if (s === "") return true;
        try {
          const u = new URL(s);
          return (u.protocol === "http:" || u.protocol === "https:") && !!u.host;
        } catch {
          return false;
        }
      }, "Enter an http or https URL, like https://api.openai.com/v1")
      .refine((s) => {
        try {
          const u = new URL(s);
          return !u.username && !u.password;
        } catch {
          return true;
        }
      }, "Do not put credentials in the URL: use the API key field"),
    provider: z.string().trim(),
    upstreamModel: z.string().trim(),
    apiVersion: z
      .string()
      .trim()
      .refine((s) => s === "" || API_VERSION_PATTERN.test(s), "Use an Azure api-version, like 2024-10-21 or 2025-04-01-preview"),
    region: z
      .string()
      .trim()
      .refine((s) => s === "" || AWS_REGION_PATTERN.test(s), "Use an AWS region, like us-east-1"),
    apiKey: z.string(),
    timeoutMs: optNumber("Timeout", { integer: true }),
    latency: optNumber("Latency"),
    costPerToken: optNumber("Cost per token"),
    inputCostPerToken: optNumber("Input cost per token"),
    outputCostPerToken: optNumber("Output cost per token"),
    securityPolicy: z.enum(POLICIES, { message: "Choose a security policy" }),
    allowedKeys: z.array(z.string()),
    fallbacks: z.array(z.string()),
    retryAttempts: optNumber("Retry attempts", { integer: true, max: 10 }),
    retryBackoffMs: optNumber("Backoff", { integer: true }),
    retryMaxBackoffMs: optNumber("Max backoff", { integer: true }),
    cacheTtlSeconds: optNumber("Cache TTL", { integer: true, min: 1 }),
    inputSchema: schemaText("Input schema"),
    outputSchema: schemaText("Output schema"),
  })
  .superRefine((v, ctx) => {
    const needsEndpoint = !v.provider.startsWith("wasm:") && !v.provider.startsWith("plugin:") && !fieldsOf(v.provider)?.defaultEndpoint;
    if (needsEndpoint && !v.endpoint) {
      ctx.addIssue({ code: "custom", path: ["endpoint"], message: "An endpoint is required (unless the provider is a wasm: or plugin: one)" });
    }
    if (v.provider === "bedrock" && v.apiKey.trim() && !AWS_KEY_PATTERN.test(v.apiKey.trim())) {
      ctx.addIssue({ code: "custom", path: ["apiKey"], message: "A Bedrock key is ACCESS_KEY_ID:SECRET_ACCESS_KEY, or with :SESSION_TOKEN" });
    }
    if (v.id && v.fallbacks.includes(v.id)) {
      ctx.addIssue({ code: "custom", path: ["fallbacks"], message: "A model cannot fall back to itself" });
    }
  });

export type ModelFormValues = z.output<typeof modelFormSchema>;

const readOnly = ["hasApiKey", "status", "stats", "createdAt", "updatedAt", "managedBy"] as const;

/**
 * Checks the form. On success, returns the body to send: for an edit, the model as the API
 * returned it with the form's fields replaced (so fields the form does not show are kept), and
 * no apiKey unless a new one was typed (the stored one is kept).
 */
export function buildModel(state: ModelFormState, base?: ModelView): { ok: true; model: ModelMetadata } | { ok: false; errors: FormErrors } {
  const r = modelFormSchema.safeParse(state);
  if (!r.success) {
    const errors: FormErrors = {};
    for (const issue of r.error.issues) {
      const k = String(issue.path[0] ?? "name") as keyof ModelFormState;
      errors[k] ??= issue.message;
    }
    return { ok: false, errors };
  }
  const v = r.data;
  const m: Record<string, unknown> = base ? { ...base } : {};
  for (const k of readOnly) delete m[k];
  const set = (k: string, val: unknown) => {
    if (val === undefined || val === "" || (Array.isArray(val) && val.length === 0)) delete m[k];
    else m[k] = val;
  };
  set("id", base ? base.id : v.id);
  set("name", v.name);
  set("description", v.description);
  set("modelType", v.modelType);
  set("owner", v.owner);
  set("org", v.org);
  set("tags", v.tags);
  set("endpoint", v.endpoint);
  set("provider", v.provider);
  set("upstreamModel", v.upstreamModel);
  // config is the adapter's or plugin's: only an azure model's api-version and a bedrock
  // model's region are the form's.
  if (fieldsOf(v.provider)?.apiVersion) setConfig(m, "apiVersion", v.apiVersion);
  if (fieldsOf(v.provider)?.region) setConfig(m, "region", v.region);
  set("timeoutMs", v.timeoutMs);
  set("latency", v.latency);
  set("costPerToken", v.costPerToken);
  set("inputCostPerToken", v.inputCostPerToken);
  set("outputCostPerToken", v.outputCostPerToken);
  set("securityPolicy", v.securityPolicy);
  set("allowedKeys", v.allowedKeys);
  set("fallbacks", v.fallbacks);
  set("inputSchema", v.inputSchema);
  set("outputSchema", v.outputSchema);
  if (v.retryAttempts !== undefined || v.retryBackoffMs !== undefined || v.retryMaxBackoffMs !== undefined) {
    const retry: Record<string, number> = { attempts: v.retryAttempts ?? 0 };
    if (v.retryBackoffMs !== undefined) retry.backoffMs = v.retryBackoffMs;
    if (v.retryMaxBackoffMs !== undefined) retry.maxBackoffMs = v.retryMaxBackoffMs;
    m.retry = retry;
  } else delete m.retry;
  set("cache", v.cacheTtlSeconds !== undefined ? { ttlSeconds: v.cacheTtlSeconds } : undefined);
  if (v.apiKey.trim()) m.apiKey = v.apiKey.trim();
  else delete m.apiKey;
  // An unchanged upstream model that only echoed the id is left for the gateway to fill again.
  if (base && !v.upstreamModel && base.upstreamModel === base.id) delete m.upstreamModel;
  return { ok: true, model: m as unknown as ModelMetadata };
}

/** Sets config[key], or removes it (and a config left empty), keeping the rest of config. */
function setConfig(m: Record<string, unknown>, key: string, value: string) {
  const config = { ...((m.config as Record<string, unknown> | undefined) ?? {}) };
  if (value) config[key] = value;
  else delete config[key];
  if (Object.keys(config).length) m.config = config;
  else delete m.config;
}

const paramFields: Record<string, keyof ModelFormState> = {
  "config.apiVersion": "apiVersion",
  "config.region": "region",
  "retry.attempts": "retryAttempts",
  "retry.backoffMs": "retryBackoffMs",
  "retry.maxBackoffMs": "retryMaxBackoffMs",
  "cache.ttlSeconds": "cacheTtlSeconds",
};

/** The form field an API error's param points at, if the form shows it. */
export function fieldOfParam(param: string | undefined): keyof ModelFormState | undefined {
  if (!param) return undefined;
  if (paramFields[param]) return paramFields[param];
  const head = param.replace(/\[\d+\].*$/, "").split(".")[0];
  if (head in emptyModelForm) return head as keyof ModelFormState;
  return undefined;
}
