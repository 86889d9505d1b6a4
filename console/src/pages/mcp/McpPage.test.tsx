import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { McpPage, type McpServerView, type McpToolView } from "./McpPage";

const servers: McpServerView[] = [
  {
    id: "everything",
    command: ["node", "server.js", "stdio"],
    securityPolicy: "public",
    managedBy: "config",
    state: "connected",
    exposedTools: ["everything__echo"],
    resources: [
      { name: "everything__instructions.md", uri: "iom://everything/demo://docs/instructions.md", upstreamUri: "demo://docs/instructions.md", mimeType: "text/markdown" },
      { name: "everything__Dynamic Text", uri: "iom://everything/demo://text/{id}", upstreamUri: "demo://text/{id}", template: true },
    ],
  },
  {
    id: "search",
    url: "http://127.0.0.1:3001/mcp",
    transport: "streamable",
    securityPolicy: "private",
    managedBy: "api",
    state: "unavailable",
    problem: "cannot get an OAuth token: the token endpoint answered 401 (invalid_client): check clientId and clientSecret",
    oauth: { tokenUrl: "https://auth.example.com/token", clientId: "gateway", scopes: ["tools"] },
    hasClientSecret: true,
    exposedTools: [],
    resources: [],
  },
];

const tools: McpToolView[] = [
  {
    name: "everything__echo",
    server: "everything",
    upstreamName: "echo",
    description: "Echoes back the input string",
    inputSchema: { type: "object", properties: { message: { type: "string", description: "Message to echo" }, times: { type: "integer" } }, required: ["message"] },
  },
  { name: "everything__wipe", server: "everything", upstreamName: "wipe", hidden: true, inputSchema: { type: "object" } },
];

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("MCP servers", () => {
  it("lists the servers with their state, and a server's tools", async () => {
    mockFetch(
      route("GET", "/api/mcp-servers", () => ({ body: { data: servers, total: 2 } })),
      route("GET", "/api/mcp-servers/everything/tools", () => ({ body: { data: tools } })),
    );
    renderPage(<McpPage />);
    const everything = await screen.findByTestId("mcp-everything");
    expect(within(everything).getByText("connected")).toBeInTheDocument();
    expect(within(everything).getByText("stdio · node server.js stdio")).toBeInTheDocument();
    expect(within(screen.getByTestId("mcp-search")).getByText("unavailable")).toBeInTheDocument();
    const list = await screen.findByRole("list", { name: "Tools of everything" });
    expect(within(list).getByText("everything__echo")).toBeInTheDocument();
    expect(within(list).getByText("hidden by the filter")).toBeInTheDocument();
    const resources = screen.getByRole("list", { name: "Resources of everything" });
    expect(within(resources).getByText("iom://everything/demo://docs/instructions.md")).toBeInTheDocument();
    expect(within(resources).getByText("template")).toBeInTheDocument();
    expect(within(screen.getByTestId("mcp-search")).getByText(/token endpoint answered 401/)).toBeInTheDocument();
  });

  it("registers a server with OAuth client credentials, the secret in a password field", async () => {
    const { calls } = mockFetch(
      route("GET", "/api/mcp-servers", () => ({ body: { data: servers, total: 2 } })),
      route("GET", "/api/mcp-servers/everything/tools", () => ({ body: { data: tools } })),
      route("POST", "/api/mcp-servers", (r) => ({ status: 201, body: { ...(r.body as object), state: "connecting", exposedTools: [], resources: [] } })),
    );
    renderPage(<McpPage />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: /Register a server/ }));
    const form = await screen.findByRole("form", { name: "Register an MCP server" });
    await user.type(within(form).getByLabelText("id"), "crm");
    await user.type(within(form).getByLabelText("url"), "https://mcp.crm.example/mcp");
    await user.click(within(form).getByLabelText("OAuth client credentials"));
    await user.click(within(form).getByRole("button", { name: "Register" }));
    expect(await within(form).findByText("Some fields need attention.")).toBeInTheDocument();
    await user.type(within(form).getByLabelText("tokenUrl"), "https://auth.crm.example/token");
    await user.type(within(form).getByLabelText("clientId"), "gateway");
    const secret = within(form).getByLabelText("clientSecret");
    expect(secret).toHaveAttribute("type", "password");
    await user.type(secret, "s3cret");
    await user.type(within(form).getByLabelText("scopes"), "tools.read, tools.call");
    await user.click(within(form).getByRole("button", { name: "Register" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      id: "crm",
      url: "https://mcp.crm.example/mcp",
      transport: "streamable",
      securityPolicy: "organization",
      oauth: { tokenUrl: "https://auth.crm.example/token", clientId: "gateway", clientSecret: "s3cret", scopes: ["tools.read", "tools.call"] },
    });
  }, 30_000);

  it("edits an API server without showing or resending its stored secret", async () => {
    const { calls } = mockFetch(
      route("GET", "/api/mcp-servers", () => ({ body: { data: servers, total: 2 } })),
      route("GET", "/api/mcp-servers/search/tools", () => ({ body: { data: [] } })),
      route("PUT", "/api/mcp-servers/search", (r) => ({ body: { ...servers[1], ...(r.body as object) } })),
    );
    window.history.pushState({}, "", "/mcp?server=search");
    try {
      renderPage(<McpPage />);
      const user = userEvent.setup();
      await user.click(await screen.findByRole("button", { name: "Edit search" }));
      const form = await screen.findByRole("form", { name: "Edit search" });
      expect(within(form).getByLabelText("clientSecret")).toHaveValue("");
      expect(within(form).getByLabelText("clientId")).toHaveValue("gateway");
      await user.type(within(form).getByLabelText("audience"), "https://mcp.example");
      await user.click(within(form).getByRole("button", { name: "Save changes" }));
      await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
      const body = calls.find((c) => c.method === "PUT")?.body as Record<string, unknown>;
      expect(body.oauth).toEqual({ tokenUrl: "https://auth.example.com/token", clientId: "gateway", scopes: ["tools"], audience: "https://mcp.example" });
      expect(body).not.toHaveProperty("hasClientSecret");
      expect(body).not.toHaveProperty("problem");
    } finally {
      window.history.pushState({}, "", "/");
    }
  }, 30_000);

  it("calls a tool with the arguments its form holds", async () => {
    const { calls } = mockFetch(
      route("GET", "/api/mcp-servers", () => ({ body: { data: servers, total: 2 } })),
      route("GET", "/api/mcp-servers/everything/tools", () => ({ body: { data: tools } })),
      route("POST", "/api/mcp-servers/everything/tools/echo/call", (r) => ({
        body: { result: { content: [{ type: "text", text: `Echo: ${(r.body as { arguments: { message: string } }).arguments.message}` }] }, latencyMs: 3.2 },
      })),
    );
    renderPage(<McpPage />);
    const user = userEvent.setup();
    const form = await screen.findByRole("form", { name: "Call everything__echo" });
    await user.click(within(form).getByRole("button", { name: "Call" }));
    expect(await within(form).findByText("required")).toBeInTheDocument();
    await user.type(within(form).getByLabelText("message"), "hello");
    await user.type(within(form).getByLabelText("times"), "2");
    await user.click(within(form).getByRole("button", { name: "Call" }));
    const answer = await screen.findByTestId("tool-answer");
    expect(answer).toHaveTextContent("Echo: hello");
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ arguments: { message: "hello", times: 2 } });
  });

  it("says how to add a server when there is none", async () => {
    mockFetch(route("GET", "/api/mcp-servers", () => ({ body: { data: [], total: 0 } })));
    renderPage(<McpPage />);
    expect(await screen.findByText("No MCP servers")).toBeInTheDocument();
  });
  it("opens the server a link names (?server=), as the registry's tool cards link", async () => {
    mockFetch(
      route("GET", "/api/mcp-servers", () => ({ body: { data: servers, total: 2 } })),
      route("GET", "/api/mcp-servers/search/tools", () => ({ body: { data: [] } })),
    );
    window.history.pushState({}, "", "/mcp?server=search");
    try {
      renderPage(<McpPage />);
      expect(await screen.findByRole("list", { name: "Tools of search" })).toBeInTheDocument();
    } finally {
      window.history.pushState({}, "", "/");
    }
  });
});
