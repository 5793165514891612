// Untrusted text (container names, labels, environment, log lines) must render as text, never as HTML.
import { render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { live } from "../src/lib/state/live.svelte";
import Containers from "../src/views/Containers.svelte";
import InfoTab from "../src/views/detail/InfoTab.svelte";
import { renderLogRow } from "../src/lib/logrow";
import LogsTab from "../src/views/detail/LogsTab.svelte";
import { line, mountRow, setup, teardown } from "./helpers";

const IMG = "<img src=x onerror=alert(1)>";
const SCRIPT = "<script>alert(1)</script>";

function expectInert(root: HTMLElement) {
  expect(root.querySelector("img")).toBeNull();
  expect(root.querySelector("script")).toBeNull();
  expect(document.querySelector("img")).toBeNull();
  expect(document.querySelector("script")).toBeNull();
}

describe("untrusted text is rendered as text", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    ctx = setup();
    const spec = ctx.mock.specs[0];
    spec.name = IMG;
    spec.image = SCRIPT;
    spec.labels = { [IMG]: SCRIPT, "com.example.note": IMG };
    spec.env = [["EVIL", SCRIPT], [IMG, "x"]];
    live.apply(ctx.mock.snapshot());
  });
  afterEach(teardown);

  test("a log line with HTML shows the literal text", () => {
    const { container } = mountRow(renderLogRow(line(1, `${IMG} ${SCRIPT}`), null, true));
    expectInert(container);
    expect(container.textContent).toContain(IMG);
    expect(container.textContent).toContain(SCRIPT);
  });

  test("a log line with HTML inside ANSI colours and a search highlight shows the literal text", () => {
    const text = `\x1b[31m${IMG}\x1b[0m \x1b[1m${SCRIPT}\x1b[0m`;
    const { container } = mountRow(renderLogRow(line(2, text), /img|script/gi, false));
    expectInert(container);
    expect(container.querySelectorAll("mark").length).toBeGreaterThanOrEqual(3);
    expect(container.textContent).toContain(IMG);
    expect(container.textContent).toContain(SCRIPT);
  });

  test("logs view with HTML lines from the engine", async () => {
    ctx.mock.logHistoryOverride = [line(0, IMG), line(1, SCRIPT, "stderr")];
    const c = live.snapshot!.containers[0];
    const { container } = render(LogsTab, { props: { container: c } });
    await waitFor(() => expect(container.querySelectorAll(".line").length).toBe(2));
    expectInert(container);
    expect(container.textContent).toContain(IMG);
    expect(container.textContent).toContain(SCRIPT);
  });

  test("container name and image in the table", () => {
    const { container } = render(Containers);
    expectInert(container);
    expect(screen.getByRole("link", { name: IMG })).toBeTruthy();
    expect(container.textContent).toContain(SCRIPT);
  });

  test("labels and environment on the info tab", async () => {
    const c = live.snapshot!.containers[0];
    const { container } = render(InfoTab, { props: { container: c } });
    await waitFor(() => expect(container.textContent).toContain("com.example.note"));
    expectInert(container);
    expect(container.textContent).toContain(IMG);
    expect(container.textContent).toContain(SCRIPT);
    // The environment value is masked until revealed; the name shows as text.
    screen.getByRole("button", { name: `Show value of EVIL` }).click();
    await waitFor(() => expect(container.textContent).toContain(SCRIPT));
    expectInert(container);
  });
});
