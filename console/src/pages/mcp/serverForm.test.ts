import { describe, expect, it } from "vitest";
import { buildServer, emptyServerForm, formFromServer, type McpServerView } from "./serverForm";

const stored: McpServerView = {
  id: "crm",
  url: "https://mcp.crm.example/mcp",
  transport: "streamable",
  securityPolicy: "private",
  allowedKeys: ["key-1"],
  tools: { allow: ["read_*"] },
  headerNames: ["X-Tenant"],
  managedBy: "api",
  state: "connected",
  exposedTools: ["crm__read_contact"],
  resources: [],
  oauth: { tokenUrl: "https://auth.crm.example/token", clientId: "gateway", scopes: ["a", "b"] },
  hasClientSecret: true,
};

describe("the MCP server form", () => {
  it("asks for what a server with OAuth needs", () => {
    const r = buildServer({ ...emptyServerForm, id: "bad__id", url: "ftp://x", oauth: true, tokenUrl: "https://u:p@auth/token" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors).sort()).toEqual(["clientId", "clientSecret", "id", "tokenUrl", "url"]);
  });

  it("never shows a stored secret, and leaves it out of an edit that does not change it", () => {
    const f = formFromServer(stored);
    expect(f.clientSecret).toBe("");
    expect(f.scopes).toBe("a b");
    const r = buildServer(f, stored);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.server.oauth).toEqual({ tokenUrl: "https://auth.crm.example/token", clientId: "gateway", scopes: ["a", "b"] });
    // What the form does not show goes back unchanged; the answer's read-only fields do not.
    expect(r.server.allowedKeys).toEqual(["key-1"]);
    expect(r.server.tools).toEqual({ allow: ["read_*"] });
    for (const k of ["hasClientSecret", "state", "exposedTools", "resources", "headerNames", "managedBy"]) expect(r.server).not.toHaveProperty(k);
  });

  it("sends a new secret, and drops oauth when it is turned off", () => {
    const withSecret = buildServer({ ...formFromServer(stored), clientSecret: "new" }, stored);
    expect(withSecret.ok && withSecret.server.oauth?.clientSecret).toBe("new");
    const off = buildServer({ ...formFromServer(stored), oauth: false }, stored);
    expect(off.ok && off.server).not.toHaveProperty("oauth");
  });
});
