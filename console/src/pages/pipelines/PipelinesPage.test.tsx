import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setToken } from "@/lib/api";
import type { Pipeline } from "@/lib/types";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { PipelinesPage } from "./PipelinesPage";

const seed: Pipeline = {
  id: "data-processing",
  name: "Data Processing Chain",
  managedBy: "config",
  nodes: [
    { id: "in", type: "input", data: {} },
    { id: "out", type: "output", data: {} },
  ],
  edges: [{ source: "in", target: "out" }],
};

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("pipelines list", () => {
  it("duplicates a config pipeline into a stored one and opens it", async () => {
    const { calls } = mockFetch(
      route("GET", "/api/pipelines", () => ({ body: { data: [seed] } })),
      route("POST", "/api/pipelines", (r) => ({ status: 201, body: { ...(r.body as object), managedBy: "api" } })),
    );
    renderPage(<PipelinesPage />);
    const card = await screen.findByLabelText("Data Processing Chain");
    await userEvent.setup().click(within(card).getByRole("button", { name: "Duplicate Data Processing Chain" }));
    await waitFor(() => expect(window.location.pathname).toBe("/pipelines/data-processing-copy"));
    expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ id: "data-processing-copy", name: "Data Processing Chain (copy)", nodes: seed.nodes, edges: seed.edges });
  });
});
