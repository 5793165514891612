// The served page's own screens get the window's accessibility treatment: axe-core finds no serious or
// critical violation on the sign-in (empty, and refused with the server's message) or the sidebar's sign-out
// controls. Contrast needs a layout engine and is checked in the real window (tests/e2e/test_keyboard_access.py).
import { cleanup, render } from "@testing-library/svelte";
import axe from "axe-core";
import { tick } from "svelte";
import { afterEach, describe, expect, test } from "vitest";
import { webSession } from "../src/lib/http/session.svelte";
import SignIn from "../src/web/SignIn.svelte";
import SignOut from "../src/web/SignOut.svelte";

async function seriousViolations(root: Element): Promise<string[]> {
  const result = await axe.run(root, { rules: { "color-contrast": { enabled: false } } });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(", ")}`);
}

describe("the served page's screens", () => {
  afterEach(() => {
    webSession.ended(null);
    cleanup();
  });

  test("the sign-in names its field and announces a refusal", async () => {
    const { container, getByLabelText, getByRole } = render(SignIn);
    expect(await seriousViolations(container)).toEqual([]);
    expect(getByLabelText("API token")).toBeTruthy();

    webSession.ended("Wrong token: run docktray api token on the server");
    await tick();
    expect(getByRole("alert").textContent).toContain("Wrong token");
    expect(getByLabelText("API token").getAttribute("aria-describedby")).toBe("signin-error");
    expect(await seriousViolations(container)).toEqual([]);
  });

  test("the sign-out controls are buttons with names", async () => {
    const { container, getByRole } = render(SignOut);
    expect(getByRole("button", { name: "Sign out" })).toBeTruthy();
    expect(await seriousViolations(container)).toEqual([]);
  });
});
