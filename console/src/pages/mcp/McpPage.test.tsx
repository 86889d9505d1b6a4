import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { McpPage, type McpServerView, type McpToolView } from "./McpPage";

const servers: McpServerView[] = [
  { id: "everything", command: ["node", "server.js", "stdio"], securityPolicy: "public", managedBy: "config", state: "connected", exposedTools: ["everything__echo"] },
  { id: "search", url: "http://127.0.0.1:3001/mcp", transport: "streamable", securityPolicy: "private", managedBy: "api", state: "unavailable", exposedTools: [] },
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
  });

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
