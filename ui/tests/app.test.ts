import { render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import App from "../src/App.svelte";
import { live } from "../src/lib/state/live.svelte";
import { router } from "../src/lib/state/router.svelte";
import { theme } from "../src/lib/state/theme.svelte";
import { setup, teardown } from "./helpers";

describe("window", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    ctx = setup();
    window.location.hash = "#/overview";
    router.sync();
  });
  afterEach(teardown);

  // Views other than the overview and the containers are loaded on demand; the first load of one compiles it
  // here, which can take more than waitFor's default second on a busy machine.
  const LAZY_VIEW = { timeout: 15_000 };

  test("opens where the shell asked (take_route) and follows navigate events", async () => {
    const db = ctx.mock.specs.find((s) => s.name === "shop-db-1")!;
    ctx.mock.route = `container:local/${db.id}`;
    render(App);
    await waitFor(() => expect(screen.getByRole("heading", { level: 1, name: "shop-db-1" })).toBeTruthy(), LAZY_VIEW);
    expect(window.location.hash).toBe(`#/container/local/${db.id}/stats`);
    ctx.mock.emit("navigate", "alerts");
    await waitFor(() => expect(screen.getByRole("heading", { level: 1, name: "Alerts" })).toBeTruthy(), LAZY_VIEW);
    ctx.mock.emit("navigate", "host:edge-01");
    await waitFor(() => expect(screen.getByRole("heading", { level: 1, name: "edge-01" })).toBeTruthy(), LAZY_VIEW);
  }, 60_000);

  test("shows the overall level and hosts from pushed snapshots", async () => {
    render(App);
    await waitFor(() => expect(screen.getByRole("region", { name: "Overall status" }).textContent).toContain("Warning"));
    expect(screen.getAllByRole("meter").length).toBeGreaterThanOrEqual(6);
    expect(screen.getByRole("meter", { name: /^Disk \/: 8\d\.\d %, warning$/ })).toBeTruthy();
  });

  test("the snapshot handed over with the page is shown before any IPC answers", async () => {
    live.reset();
    const first = ctx.mock.snapshot();
    first.overall = "critical";
    (window as unknown as { __DOCKTRAY_FIRST_SNAPSHOT__?: unknown }).__DOCKTRAY_FIRST_SNAPSHOT__ = first;
    // An IPC that never answers: whatever shows comes from the page's own snapshot.
    ctx.mock.invoke = () => new Promise(() => {});
    render(App);
    await waitFor(() => expect(screen.getByRole("region", { name: "Overall status" }).textContent).toContain("Critical"));
    expect(live.snapshot?.overall).toBe("critical");
    expect((window as unknown as { __DOCKTRAY_FIRST_SNAPSHOT__?: unknown }).__DOCKTRAY_FIRST_SNAPSHOT__).toBeUndefined();
  });

  test("the theme override is remembered", () => {
    theme.set("dark");
    expect(localStorage.getItem("docktray.theme")).toBe("dark");
    theme.set("system");
    expect(localStorage.getItem("docktray.theme")).toBeNull();
  });
});
