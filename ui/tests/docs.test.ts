// /docs: the API reference renders the server's own OpenAPI document (recorded/openapi.json, from a real
// `docktray serve` by recorded/record_openapi.py), as text, and asks to sign in when the document is refused.
import { render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, describe, expect, test } from "vitest";
import ApiDocs from "../src/docs/ApiDocs.svelte";
import openapi from "./recorded/openapi.json";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

function answer(status: number, body: unknown) {
  globalThis.fetch = (async () =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })) as typeof fetch;
}

describe("the API reference", () => {
  test("lists every documented endpoint with its parameters", async () => {
    answer(200, openapi);
    const view = render(ApiDocs);
    const count = Object.values(openapi.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    await waitFor(() => expect(view.container.querySelectorAll('[data-testid="endpoint"]')).toHaveLength(count));
    expect(view.container.textContent).toContain("/api/v1/containers/{ref}/{action}");
    expect(view.container.textContent).toContain("/api/v1/session");
    // The newest routes: the page's settings, its terminal and the alert history (tests/api_document.rs keeps the
    // recording the served document).
    for (const path of ["/api/v1/settings", "/api/v1/settings/validate", "/api/v1/containers/{ref}/exec", "/api/v1/alerts", "/api/v1/timeline/export"]) {
      expect(view.container.textContent).toContain(path);
    }
    expect(screen.getAllByText("no token").length).toBeGreaterThanOrEqual(3);
  });

  test("without a session it asks to sign in on the dashboard", async () => {
    answer(401, { error: "unauthorized", message: "no" });
    render(ApiDocs);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("sign in on the dashboard"));
  });
});
