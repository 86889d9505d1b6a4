import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ModelView } from "@/lib/types";
import { renderPage } from "@/test/render";
import { ModelCard } from "./ModelCard";

const noop = () => {};

describe("registry cards", () => {
  it("shows an MCP tool read-only, linking to its server instead of testing or editing it", () => {
    const tool = { id: "search__web_search", name: "web_search", description: "Searches the web", modelType: "tool", provider: "mcp", managedBy: "mcp", securityPolicy: "public", status: "available", hasApiKey: false } as ModelView;
    renderPage(<ModelCard model={tool} onTest={noop} onEdit={noop} onDelete={async () => {}} />);
    expect(screen.getByText("tool")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Open the MCP server of search__web_search" })).toHaveAttribute("href", "/mcp?server=search");
    expect(screen.queryByRole("button", { name: /Test|Edit|Delete/ })).toBeNull();
  });

  it("keeps a model's actions", () => {
    const model = { id: "writer", name: "Writer", modelType: "llm", managedBy: "api", securityPolicy: "public", status: "available", hasApiKey: false } as ModelView;
    renderPage(<ModelCard model={model} onTest={noop} onEdit={noop} onDelete={async () => {}} />);
    expect(screen.getByRole("button", { name: "Test Writer" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Edit Writer" })).toBeInTheDocument();
  });
});
