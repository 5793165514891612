// The keyboard: the shortcuts overlay (?), view shortcuts, and levels that are not told by colour alone.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import App from "../src/App.svelte";
import Gauge from "../src/components/Gauge.svelte";
import { shortcutsHelp } from "../src/lib/shortcuts.svelte";
import { router } from "../src/lib/state/router.svelte";
import { setup, teardown } from "./helpers";

describe("keyboard shortcuts", () => {
  // The window loads its other views right after the first snapshot; have them compiled before the tests, so
  // none is still loading when a test ends.
  beforeAll(async () => {
    await Promise.all(
      ["Alerts", "Containers", "ContainerView", "HostView", "Settings"].map((v) => import(`../src/views/${v}.svelte`)),
    );
  }, 60_000);
  beforeEach(() => {
    setup();
    window.location.hash = "#/overview";
    router.sync();
    shortcutsHelp.open = false;
  });
  afterEach(teardown);

  test("? lists the shortcuts in a dialog; Escape closes it and the focus goes back", async () => {
    render(App);
    const themeButton = await screen.findByRole("button", { name: /switch theme/ });
    themeButton.focus();
    await fireEvent.keyDown(themeButton, { key: "?" });
    const dialog = await screen.findByRole("dialog", { name: "Keyboard shortcuts" });
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    const rows = (within(dialog).getAllByRole("row") as HTMLTableRowElement[]).map((r) =>
      [...r.cells].map((c) => c.textContent?.trim()).join(" | "),
    );
    expect(rows).toContain("Alt+2 | Containers");
    expect(rows).toContain("? | Show this list of shortcuts");
    expect(rows.some((r) => r.startsWith("/ | Search"))).toBe(true);
    await waitFor(() => expect(document.activeElement).toBe(within(dialog).getByRole("button", { name: /Close/ })));
    await fireEvent.keyDown(document.activeElement!, { key: "Escape" });
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    await waitFor(() => expect(document.activeElement).toBe(themeButton));
  });

  test("the sidebar's button opens the same list, and ? typed into a field is just typed", async () => {
    render(App);
    await fireEvent.click(await screen.findByRole("button", { name: "Keyboard shortcuts" }));
    expect(await screen.findByRole("dialog", { name: "Keyboard shortcuts" })).toBeTruthy();
    await fireEvent.keyDown(document.activeElement!, { key: "Escape" });
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());

    window.location.hash = "#/containers";
    router.sync();
    const filter = await screen.findByRole("searchbox", { name: /Filter containers/ }, { timeout: 15_000 });
    filter.focus();
    await fireEvent.keyDown(filter, { key: "?" });
    expect(screen.queryByRole("dialog")).toBeNull();
  }, 30_000);

  test("Alt+number moves between the views and focuses the view's heading", async () => {
    render(App);
    await screen.findByRole("heading", { level: 1, name: "Overview" });
    await fireEvent.keyDown(window, { key: "3", altKey: true });
    const heading = await screen.findByRole("heading", { level: 1, name: "Alerts" }, { timeout: 15_000 });
    expect(window.location.hash).toBe("#/alerts");
    await waitFor(() => expect(document.activeElement).toBe(heading));
  }, 30_000);
});

describe("levels are not told by colour alone", () => {
  beforeEach(() => setup());
  afterEach(teardown);

  const threshold = { warning: 70, critical: 90, enabled: true };

  test("a gauge over its threshold shows a shape and says its level", () => {
    const { container: warn } = render(Gauge, { props: { label: "CPU", value: 75, threshold } });
    expect(warn.querySelector(".mark.tone-warning svg")).toBeTruthy();
    expect(warn.textContent).toContain("(warning)");
    const { container: crit } = render(Gauge, { props: { label: "Disk", value: 95, threshold } });
    expect(crit.querySelector(".mark.tone-critical svg")).toBeTruthy();
    expect(crit.textContent).toContain("(critical)");
    const { container: fine } = render(Gauge, { props: { label: "Memory", value: 10, threshold } });
    expect(fine.querySelector(".mark")).toBeNull();
  });
});
