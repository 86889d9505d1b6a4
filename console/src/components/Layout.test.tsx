import { act, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, setToken } from "@/lib/api";
import { mockFetch, route } from "@/test/fetch";
import { renderPage } from "@/test/render";
import { Layout } from "./Layout";

beforeEach(() => setToken("t"));
afterEach(() => vi.unstubAllGlobals());

describe("sidebar", () => {
  it("counts models again as soon as the console registers or deletes one", async () => {
    let models = 1;
    mockFetch(
      route("GET", "/api/status", () => ({ body: { version: "t", listen: ":8080", adminListen: ":8081", models, keys: 2 } })),
      route("POST", "/api/models", () => {
        models++;
        return { status: 201, body: { id: "new", name: "New" } };
      }),
      route("DELETE", "/api/models/new", () => {
        models--;
        return { status: 204 };
      }),
    );
    renderPage(<Layout>page</Layout>);
    expect(await screen.findByText("1 model · 2 keys")).toBeInTheDocument();
    await act(() => api.createModel({ name: "New" }));
    expect(await screen.findByText("2 models · 2 keys")).toBeInTheDocument();
    await act(() => api.deleteModel("new"));
    expect(await screen.findByText("1 model · 2 keys")).toBeInTheDocument();
  });
});
