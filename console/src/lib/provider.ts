// The gateway infers a model's provider from its endpoint where it can; this mirrors it so the
// form can say what will be used (registry.InferProvider in the gateway is the authority).
export function inferProvider(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return "";
  }
  if (!u.host) return "";
  const host = u.hostname.toLowerCase();
  const path = u.pathname.replace(/\/+$/, "");
  if (host === "api.anthropic.com") return "anthropic";
  if (host.startsWith("bedrock-runtime") && (host.endsWith(".amazonaws.com") || host.endsWith(".amazonaws.com.cn")) && !path.includes("/openai"))
    return "bedrock";
  if (
    host === "api-inference.huggingface.co" ||
    host.endsWith(".endpoints.huggingface.cloud") ||
    path.endsWith("/generate") ||
    path.endsWith("/generate_stream") ||
    path.endsWith("/embed")
  )
    return "huggingface";
  if (u.port === "11434" && !path.includes("/v1")) return "ollama";
  if (
    host === "api.openai.com" ||
    path.endsWith("/v1") ||
    path.includes("/v1/") ||
    path.endsWith("/chat/completions") ||
    path.endsWith("/completions") ||
    path.endsWith("/embeddings")
  )
    return "openai";
  return "";
}

/** The id the gateway derives from a display name ("GPT-4 Turbo" → "gpt-4-turbo"). */
export function slug(name: string): string {
  let s = name
    .toLowerCase()
    .replace(/[^a-z0-9._]+/g, "-")
    .replace(/^[-._]+|[-._]+$/g, "");
  if (s.length > 100) s = s.slice(0, 100).replace(/[-._]+$/, "");
  return s;
}

/** What the model form asks of a provider beyond the common fields. */
export interface ProviderFields {
  /** The endpoint to suggest. */
  endpoint: string;
  /** The gateway fills in the endpoint when it is left empty. */
  defaultEndpoint?: boolean;
  /** What the upstream model is for this provider, and an example. */
  upstreamModelHint: string;
  upstreamModel: string;
  /** The model names an api-version (Azure OpenAI), kept in config.apiVersion. */
  apiVersion?: boolean;
  /** The model may name its AWS region (Bedrock), kept in config.region. */
  region?: boolean;
  /** What the API key is for this provider, and its placeholder. */
  apiKeyHint?: string;
  apiKeyPlaceholder?: string;
}

/** The api-version of Azure OpenAI deployments when a model names none. */
export const AZURE_API_VERSION = "2024-10-21";

/** Azure's api-versions: a date, optionally -preview, or the v1 API's preview and latest. */
export const API_VERSION_PATTERN = /^(\d{4}-\d{2}-\d{2}(-preview)?|preview|latest)$/;

const providerFields: Record<string, ProviderFields> = {
  gemini: {
    endpoint: "https://generativelanguage.googleapis.com/v1beta",
    defaultEndpoint: true,
    upstreamModelHint: "The Gemini model",
    upstreamModel: "gemini-2.5-flash",
  },
  azure: {
    endpoint: "https://my-resource.openai.azure.com",
    upstreamModelHint: "The deployment's name (an endpoint ending in /openai/v1 takes it as the model)",
    upstreamModel: "my-gpt-4o",
    apiVersion: true,
  },
  bedrock: {
    endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com",
    upstreamModelHint: "The Bedrock model or inference profile id",
    upstreamModel: "anthropic.claude-3-5-sonnet-20240620-v1:0",
    region: true,
    apiKeyHint: "AWS credentials, ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]; empty: the gateway's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, on Bedrock's hosts",
    apiKeyPlaceholder: "AKIA…:…",
  },
};

/** AWS region names, as the gateway checks config.region. */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** A bedrock model's key: AWS credentials, with an optional session token. */
export const AWS_KEY_PATTERN = /^[^:\s]+:[^:\s]+(:[^:\s]+)?$/;

/** The fields of a provider that has its own (gemini, azure, bedrock), or undefined. */
export function fieldsOf(provider: string): ProviderFields | undefined {
  return providerFields[provider];
}
