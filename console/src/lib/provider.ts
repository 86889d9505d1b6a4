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
