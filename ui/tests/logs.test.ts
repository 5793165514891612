import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { LogBuffer, MAX_LINES } from "../src/lib/logbuffer";
import { live } from "../src/lib/state/live.svelte";
import { compileSearch } from "../src/lib/util/logfilter";
import LogsTab from "../src/views/detail/LogsTab.svelte";
import { line, logTexts, settle, setup, teardown } from "./helpers";

const HISTORY = [
  line(0, "\x1b[32mINFO\x1b[0m server listening on :3000"),
  line(1, "GET /health 200"),
  line(2, "\x1b[31mERROR\x1b[0m database timeout after 5000ms", "stderr"),
  line(3, "GET /orders/42 500"),
  line(4, "warning: disk almost full", "stderr"),
  line(5, "GET /health 200"),
];

describe("logs view", () => {
  let ctx: ReturnType<typeof setup>;

  beforeEach(() => {
    ctx = setup();
    ctx.mock.logHistoryOverride = HISTORY;
  });
  afterEach(teardown);

  async function open() {
    const view = render(LogsTab, { props: { container: live.snapshot!.containers[0] } });
    await waitFor(() => expect(logTexts(view.container)).toHaveLength(HISTORY.length));
    return view;
  }

  const subscribes = () => ctx.mock.calls.filter((c) => c.command === "subscribe_logs");

  test("shows the history, then live lines of its subscription only", async () => {
    const { container } = await open();
    expect(logTexts(container)[0]).toBe("INFO server listening on :3000");
    const [sub] = ctx.mock.activeSubscriptions();
    ctx.mock.emitLogs(sub, [line(6, "new line")]);
    ctx.mock.emitLogs(sub + 100, [line(7, "someone else's line")]);
    await settle();
    expect(logTexts(container)).toContain("new line");
    expect(logTexts(container)).not.toContain("someone else's line");
  });

  test("filters by stream", async () => {
    const { container } = await open();
    await fireEvent.click(screen.getByRole("radio", { name: "stderr" }));
    expect(logTexts(container)).toEqual(["ERROR database timeout after 5000ms", "warning: disk almost full"]);
    await fireEvent.click(screen.getByRole("radio", { name: "stdout" }));
    expect(logTexts(container)).toHaveLength(4);
    expect(logTexts(container).some((t) => t.includes("ERROR"))).toBe(false);
  });

  test("plain-text search filters and highlights, case-insensitively by default", async () => {
    const { container } = await open();
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search logs" }), { target: { value: "health" } });
    expect(logTexts(container)).toEqual(["GET /health 200", "GET /health 200"]);
    expect([...container.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["health", "health"]);
    // Regex characters are literal in plain mode.
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search logs" }), { target: { value: "/orders/42" } });
    expect(logTexts(container)).toEqual(["GET /orders/42 500"]);
  });

  test("regex search", async () => {
    const { container } = await open();
    await fireEvent.click(screen.getByRole("button", { name: "Regular expression" }));
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search logs" }), { target: { value: "\\b5\\d\\d\\b|timeout" } });
    expect(logTexts(container)).toEqual(["ERROR database timeout after 5000ms", "GET /orders/42 500"]);
    expect([...container.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["timeout", "500"]);
  });

  test("an invalid regex shows a message and filters nothing", async () => {
    const { container } = await open();
    await fireEvent.click(screen.getByRole("button", { name: "Regular expression" }));
    const input = screen.getByRole("searchbox", { name: "Search logs" });
    await fireEvent.input(input, { target: { value: "(unclosed" } });
    const alert = screen.getByRole("alert");
    expect(alert.textContent).toMatch(/Invalid regular expression/);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(logTexts(container)).toHaveLength(HISTORY.length);
    expect(container.querySelector("mark")).toBeNull();
  });

  test("tail, filters, search and timestamps never re-subscribe", async () => {
    const { container } = await open();
    expect(subscribes()).toHaveLength(1);
    await fireEvent.change(screen.getByRole("combobox", { name: "Lines to show" }), { target: { value: "100" } });
    await fireEvent.click(screen.getByRole("radio", { name: "stderr" }));
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search logs" }), { target: { value: "disk" } });
    await fireEvent.click(screen.getByRole("checkbox", { name: "Timestamps" }));
    await fireEvent.click(screen.getByRole("button", { name: "Regular expression" }));
    await settle();
    expect(logTexts(container)).toEqual(["warning: disk almost full"]);
    expect(container.querySelector(".ts")).not.toBeNull();
    expect(subscribes()).toHaveLength(1);
    expect(ctx.mock.calls.filter((c) => c.command === "unsubscribe_logs")).toHaveLength(0);
  });

  test("tail N shows the last N lines", async () => {
    ctx.mock.logHistoryOverride = Array.from({ length: 300 }, (_, i) => line(i, `line ${i}`));
    const { container } = render(LogsTab, { props: { container: live.snapshot!.containers[0] } });
    await waitFor(() => expect(screen.getByText(/300 lines/)).toBeTruthy());
    await fireEvent.change(screen.getByRole("combobox", { name: "Lines to show" }), { target: { value: "100" } });
    await settle();
    expect(logTexts(container)[0]).toBe("line 200");
    expect(screen.getByText(/last 100 shown/)).toBeTruthy();
  });

  test("unsubscribes when closed", async () => {
    const view = await open();
    const [sub] = ctx.mock.activeSubscriptions();
    view.unmount();
    await settle();
    expect(ctx.mock.calls.some((c) => c.command === "unsubscribe_logs" && (c.args as { subscription: number }).subscription === sub)).toBe(true);
    expect(ctx.mock.activeSubscriptions()).toHaveLength(0);
  });

  test("pausing auto-scroll counts new lines and resuming follows again", async () => {
    await open();
    const button = screen.getByRole("button", { name: /Following/ });
    await fireEvent.click(button);
    const [sub] = ctx.mock.activeSubscriptions();
    ctx.mock.emitLogs(sub, [line(10, "a"), line(11, "b")]);
    await settle();
    const resume = screen.getByRole("button", { name: /Resume \(2 new\)/ });
    await fireEvent.click(resume);
    expect(screen.getByRole("button", { name: /Following/ }).getAttribute("aria-pressed")).toBe("true");
  });

  test("download offers exactly the lines shown", async () => {
    await open();
    const blobs: Blob[] = [];
    const create = vi.fn((b: Blob) => {
      blobs.push(b);
      return "blob:test";
    });
    Object.assign(URL, { createObjectURL: create, revokeObjectURL: () => {} });
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    await fireEvent.click(screen.getByRole("radio", { name: "stderr" }));
    await fireEvent.click(screen.getByRole("button", { name: /Download/ }));
    expect(click).toHaveBeenCalled();
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(blobs[0]);
    });
    expect(text).toBe("ERROR database timeout after 5000ms\nwarning: disk almost full\n");
    click.mockRestore();
  });

  test("100,000 lines keep the DOM small and the memory bounded", async () => {
    const { container } = await open();
    const [sub] = ctx.mock.activeSubscriptions();
    for (let batch = 0; batch < 110; batch++) {
      ctx.mock.emitLogs(
        sub,
        Array.from({ length: 1000 }, (_, i) => line(100 + batch * 1000 + i, `bulk ${batch * 1000 + i}`)),
      );
    }
    await settle();
    expect(container.querySelectorAll(".line").length).toBeLessThan(100);
    expect(screen.getByText(/dropped/)).toBeTruthy();
  });
});

describe("log buffer", () => {
  test("keeps at most max lines, dropping the oldest, and keeps the filtered view in step", () => {
    const buffer = new LogBuffer(1000);
    buffer.setFilter("stderr", null);
    for (let i = 0; i < 5000; i++) buffer.append([line(i, `l${i}`, i % 2 ? "stderr" : "stdout")]);
    expect(buffer.lines.length).toBeLessThanOrEqual(1050);
    expect(buffer.lines[buffer.lines.length - 1].seq).toBe(4999);
    expect(buffer.view.every((l) => l.stream === "stderr" && l.seq >= buffer.lines[0].seq)).toBe(true);
    expect(buffer.dropped + buffer.lines.length).toBe(5000);
  });

  test("the default limit is 100,000 lines", () => {
    expect(MAX_LINES).toBe(100_000);
  });

  test("search compiles plain text literally and reports bad regexes", () => {
    expect(compileSearch({ query: "a.b", regex: false, caseSensitive: false }).pattern?.test("axb")).toBe(false);
    expect(compileSearch({ query: "a.b", regex: true, caseSensitive: false }).pattern?.test("axb")).toBe(true);
    expect(compileSearch({ query: "[", regex: true, caseSensitive: false }).error).toMatch(/Invalid regular expression/);
    expect(compileSearch({ query: "ABC", regex: false, caseSensitive: true }).pattern?.test("abc")).toBe(false);
  });
});
