import type { components } from "@/lib/api.gen";

type Schemas = components["schemas"];
export type McpServer = Schemas["SpecMCPServer"];
export type McpServerView = Schemas["McpServerView"];

/** What the registration form holds: strings and flags, turned into a server by buildServer. */
export interface ServerFormState {
  id: string;
  name: string;
  url: string;
  transport: string;
  securityPolicy: string;
  oauth: boolean;
  tokenUrl: string;
  clientId: string;
  /** Write-only: empty keeps the stored secret on an edit (while the origins stay). */
  clientSecret: string;
  /** Scopes separated by spaces or commas. */
  scopes: string;
  audience: string;
}

export const emptyServerForm: ServerFormState = {
  id: "",
  name: "",
  url: "",
  transport: "streamable",
  securityPolicy: "organization",
  oauth: false,
  tokenUrl: "",
  clientId: "",
  clientSecret: "",
  scopes: "",
  audience: "",
};

/** The form of an existing server: its secret is never shown, so the field starts empty. */
export function formFromServer(s: McpServerView): ServerFormState {
  return {
    id: s.id,
    name: s.name ?? "",
    url: s.url ?? "",
    transport: s.transport || "streamable",
    securityPolicy: s.securityPolicy || "organization",
    oauth: !!s.oauth,
    tokenUrl: s.oauth?.tokenUrl ?? "",
    clientId: s.oauth?.clientId ?? "",
    clientSecret: "",
    scopes: (s.oauth?.scopes ?? []).join(" "),
    audience: s.oauth?.audience ?? "",
  };
}

export type ServerFormErrors = Partial<Record<keyof ServerFormState, string>>;

function httpURL(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
  } catch {
    return false;
  }
}

/**
 * The body to POST (new) or PUT (existing) for the form, or the fields' errors. An edit starts
 * from the server as the API gave it, so what the form does not show (headers' names, tools,
 * allowedKeys) is sent back unchanged; an empty client secret is left out, which keeps the
 * stored one.
 */
export function buildServer(f: ServerFormState, existing?: McpServerView): { ok: true; server: McpServer } | { ok: false; errors: ServerFormErrors } {
  const errors: ServerFormErrors = {};
  if (!existing && !/^[A-Za-z0-9][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*$/.test(f.id)) errors.id = "letters, digits, '.', '-' or single '_'";
  if (!httpURL(f.url)) errors.url = "an http:// or https:// URL";
  if (f.oauth) {
    if (!httpURL(f.tokenUrl)) errors.tokenUrl = "an http:// or https:// URL";
    if (!f.clientId.trim()) errors.clientId = "required";
    if (!f.clientSecret && !existing?.hasClientSecret) errors.clientSecret = "required";
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const base: Record<string, unknown> = existing ? { ...existing } : {};
  for (const k of ["headerNames", "envNames", "hasClientSecret", "state", "problem", "exposedTools", "resources", "managedBy"]) delete base[k];
  const server = { ...base, id: existing?.id ?? f.id, url: f.url, transport: f.transport, securityPolicy: f.securityPolicy } as McpServer;
  if (f.name) server.name = f.name;
  else delete server.name;
  if (f.oauth) {
    const scopes = f.scopes.split(/[\s,]+/).filter(Boolean);
    server.oauth = { tokenUrl: f.tokenUrl, clientId: f.clientId.trim(), ...(f.clientSecret ? { clientSecret: f.clientSecret } : {}) };
    if (scopes.length > 0) server.oauth.scopes = scopes;
    if (f.audience) server.oauth.audience = f.audience;
  } else {
    delete server.oauth;
  }
  return { ok: true, server };
}
