import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { FILTER_SLICE, LogBuffer, MAX_LINES, RENDER_EVERY_MS } from "../src/lib/logbuffer";
import type { LogLine } from "../src/lib/bindings/LogLine";
import { live } from "../src/lib/state/live.svelte";
import { renderLogRow } from "../src/lib/logrow";
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
    await waitFor(() => expect(logTexts(container)).toContain("new line"));
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
    await waitFor(() => expect(logTexts(container)).toEqual(["GET /health 200", "GET /health 200"]));
    expect([...container.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["health", "health"]);
    // Regex characters are literal in plain mode.
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search logs" }), { target: { value: "/orders/42" } });
    await waitFor(() => expect(logTexts(container)).toEqual(["GET /orders/42 500"]));
  });

  test("regex search", async () => {
    const { container } = await open();
    await fireEvent.click(screen.getByRole("button", { name: "Regular expression" }));
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search logs" }), { target: { value: "\\b5\\d\\d\\b|timeout" } });
    await waitFor(() => expect(logTexts(container)).toEqual(["ERROR database timeout after 5000ms", "GET /orders/42 500"]));
    expect([...container.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["timeout", "500"]);
  });

  test("an invalid regex shows a message and filters nothing", async () => {
    const { container } = await open();
    await fireEvent.click(screen.getByRole("button", { name: "Regular expression" }));
    const input = screen.getByRole("searchbox", { name: "Search logs" });
    await fireEvent.input(input, { target: { value: "(unclosed" } });
    const alert = await screen.findByRole("alert");
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
    await waitFor(() => expect(logTexts(container)).toEqual(["warning: disk almost full"]));
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
    // Following: the rows drawn are the bottom of the last 100 lines, and the list is 100 rows tall.
    const shown = logTexts(container).map((t) => Number(t.split(" ")[1]));
    expect(shown[shown.length - 1]).toBe(299);
    expect(Math.min(...shown)).toBeGreaterThanOrEqual(200);
    expect((container.querySelector(".viewport .spacer") as HTMLElement).style.height).toBe(`${100 * 18}px`);
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
    const resume = await screen.findByRole("button", { name: /Resume \(2 new\)/ });
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
    await waitFor(() => expect(screen.getByText(/dropped/)).toBeTruthy());
    expect(container.querySelectorAll(".line").length).toBeLessThan(100);
    expect(logTexts(container).at(-1)).toBe("bulk 109999");
    expect(screen.getByText(/^100,000 lines/)).toBeTruthy();

    // Scrolled to the top (by the user): following stops and the oldest kept lines are drawn.
    const viewport = container.querySelector(".viewport") as HTMLElement;
    viewport.scrollTop = 0;
    await fireEvent.scroll(viewport);
    await new Promise((resolve) => requestAnimationFrame(resolve));
    await settle();
    expect(logTexts(container)[0]).toBe("bulk 10000");
    expect(container.querySelectorAll(".line").length).toBeLessThan(100);
    expect(screen.getByRole("button", { name: /Resume/ }).getAttribute("aria-pressed")).toBe("false");
    // A regex search over the 100,000 lines.
    await fireEvent.click(screen.getByRole("button", { name: "Regular expression" }));
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search logs" }), { target: { value: "^bulk 1099\\d9$" } });
    await waitFor(() => expect(screen.getByText(/^10 matching of 100,000 lines/)).toBeTruthy());
    expect(logTexts(container)).toEqual(Array.from({ length: 10 }, (_, i) => `bulk 1099${i}9`));
  });

  /** Counts the times the rows box is redrawn (its children replaced). */
  function countDrawings(container: HTMLElement): { count: () => number; stop: () => void } {
    let count = 0;
    const observer = new MutationObserver((records) => (count += records.filter((r) => r.type === "childList").length ? 1 : 0));
    observer.observe(container.querySelector(".rows")!, { childList: true });
    return { count: () => count, stop: () => observer.disconnect() };
  }

  test("lines arriving one by one are drawn together, at most ten times a second, the figures once a second", async () => {
    const { container } = await open();
    const [sub] = ctx.mock.activeSubscriptions();
    const drawings = countDrawings(container);
    let footerChanges = 0;
    const footer = new MutationObserver(() => footerChanges++);
    footer.observe(container.querySelector(".foot")!, { childList: true, characterData: true, subtree: true });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      // 600 lines over one second, one every 5 ms in its own event (as a chatty engine would push them).
      for (let i = 0; i < 200; i++) {
        ctx.mock.emitLogs(sub, [line(100 + i, `line ${i}`)]);
        await vi.advanceTimersByTimeAsync(5);
      }
      await vi.advanceTimersByTimeAsync(1000);
      await settle();
    } finally {
      vi.useRealTimers();
    }
    drawings.stop();
    footer.disconnect();
    // 200 events over one second: drawn about ten times, not 200; the line count redrawn once or twice.
    expect(drawings.count()).toBeGreaterThanOrEqual(2);
    expect(drawings.count()).toBeLessThanOrEqual(12);
    expect(footerChanges).toBeGreaterThanOrEqual(1);
    expect(footerChanges).toBeLessThanOrEqual(3);
    expect(logTexts(container).at(-1)).toBe("line 199");
    expect(screen.getByText(/^206 lines/)).toBeTruthy();
  });

  test("following a busy log fills the same row elements again: no row is made or moved per drawing", async () => {
    const { container } = await open();
    const [sub] = ctx.mock.activeSubscriptions();
    ctx.mock.emitLogs(sub, Array.from({ length: 200 }, (_, i) => line(100 + i, `first ${i}`)));
    await waitFor(() => expect(logTexts(container).at(-1)).toBe("first 199"));
    const before = [...container.querySelectorAll(".line")];
    const texts = [...container.querySelectorAll(".line .text > span")];
    const drawings = countDrawings(container);
    // The next 100 lines replace every row on screen.
    ctx.mock.emitLogs(sub, Array.from({ length: 100 }, (_, i) => line(300 + i, `next ${i}`)));
    await waitFor(() => expect(logTexts(container).at(-1)).toBe("next 99"));
    drawings.stop();
    const after = [...container.querySelectorAll(".line")];
    expect(after.length).toBe(before.length);
    expect(after.every((row, k) => row === before[k])).toBe(true);
    expect([...container.querySelectorAll(".line .text > span")].every((el, k) => el === texts[k])).toBe(true);
    expect(drawings.count()).toBe(0);
    // What they show is exactly what new rows would show.
    const seqs = after.map((row) => Number((row as HTMLElement).dataset.seq));
    expect(seqs.at(-1)).toBe(399);
    expect(logTexts(container)).toEqual(seqs.map((seq) => (seq >= 300 ? `next ${seq - 300}` : `first ${seq - 100}`)));
  });

  test("nothing is drawn while the window is hidden; every line is there when it is seen again", async () => {
    let state: DocumentVisibilityState = "visible";
    const visibility = vi.spyOn(document, "visibilityState", "get").mockImplementation(() => state);
    try {
      const { container } = await open();
      const [sub] = ctx.mock.activeSubscriptions();
      state = "hidden";
      document.dispatchEvent(new Event("visibilitychange"));
      const drawings = countDrawings(container);
      for (let i = 0; i < 5; i++) {
        ctx.mock.emitLogs(sub, Array.from({ length: 100 }, (_, j) => line(100 + i * 100 + j, `hidden ${i * 100 + j}`)));
        await new Promise((resolve) => setTimeout(resolve, RENDER_EVERY_MS));
      }
      await settle();
      expect(drawings.count()).toBe(0);
      expect(logTexts(container)).not.toContain("hidden 499");
      state = "visible";
      document.dispatchEvent(new Event("visibilitychange"));
      await waitFor(() => expect(logTexts(container).at(-1)).toBe("hidden 499"));
      expect(screen.getByText(/^506 lines/)).toBeTruthy();
      drawings.stop();
    } finally {
      visibility.mockRestore();
    }
  });

  test("/ moves the focus to the search box", async () => {
    await open();
    await fireEvent.keyDown(document.body, { key: "/" });
    expect(document.activeElement).toBe(screen.getByRole("searchbox", { name: "Search logs" }));
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

describe("log buffer search in slices", () => {
  const lines = (n: number, from = 0): LogLine[] =>
    Array.from({ length: n }, (_, i) => line(from + i, `${(from + i) % 7 === 0 ? "needle" : "hay"} ${from + i}`, (from + i) % 2 ? "stderr" : "stdout"));

  test("a search over a large buffer runs in slices, matching lines that arrive meanwhile, as a search at once would", () => {
    const buffer = new LogBuffer(100_000);
    buffer.append(lines(60_000));
    const queue: (() => void)[] = [];
    let slices = 0;
    buffer.refilter("all", /needle/g, () => slices++, (run) => queue.push(run));
    expect(buffer.progress).toBe(0);
    queue.shift()!();
    // After one slice: only the first slice's matches, and the run says how far it is.
    expect(buffer.view.length).toBe(Math.ceil(FILTER_SLICE / 7));
    expect(buffer.progress).toBeCloseTo(FILTER_SLICE / 60_000);
    // Lines arriving during the run are matched when the run reaches them, not twice.
    buffer.append(lines(10, 60_000));
    while (queue.length) queue.shift()!();
    expect(buffer.progress).toBeNull();
    expect(slices).toBe(Math.ceil(60_010 / FILTER_SLICE));
    const atOnce = new LogBuffer(100_000);
    atOnce.append(lines(60_010));
    atOnce.setFilter("all", /needle/g);
    expect(buffer.view.map((l) => l.seq)).toEqual(atOnce.view.map((l) => l.seq));
    // After the run, new lines are matched as they are appended.
    buffer.append(lines(7, 60_010));
    expect(buffer.view.at(-1)!.seq).toBe(60_011);
  });

  test("a newer search cancels an unfinished one; a small buffer is searched at once", () => {
    const buffer = new LogBuffer(100_000);
    buffer.append(lines(50_000));
    const queue: (() => void)[] = [];
    buffer.refilter("all", /needle/g, () => {}, (run) => queue.push(run));
    buffer.refilter("stderr", null, () => {}, (run) => queue.push(run));
    while (queue.length) queue.shift()!();
    expect(buffer.view.length).toBe(25_000);
    expect(buffer.view.every((l) => l.stream === "stderr")).toBe(true);
    const small = new LogBuffer(100_000);
    small.append(lines(100));
    let called = 0;
    small.refilter("all", /needle/g, () => called++, () => {
      throw new Error("a small buffer needs no slices");
    });
    expect(called).toBe(1);
    expect(small.view.length).toBe(15);
  });

  test("lines dropped from the front during a run are not searched", () => {
    const buffer = new LogBuffer(30_000);
    buffer.append(lines(30_000));
    const queue: (() => void)[] = [];
    buffer.refilter("all", /needle/g, () => {}, (run) => queue.push(run));
    queue.shift()!();
    buffer.append(lines(20_000, 30_000));
    while (queue.length) queue.shift()!();
    const first = buffer.lines[0].seq;
    expect(buffer.view.every((l) => l.seq >= first)).toBe(true);
    expect(buffer.view.length).toBe(buffer.lines.filter((l) => /needle/.test(l.plain)).length);
  });
});

describe("log row recycling", () => {
  const LINES = [
    line(1, "plain text"),
    line(2, "another plain one"),
    line(3, "\x1b[31mred\x1b[0m and \x1b[38;2;1;2;3mtrue colour\x1b[0m"),
    line(4, "on stderr", "stderr"),
    line(5, "\x1b[1mbold\x1b[0m on stderr", "stderr"),
    line(6, "needle in plain text"),
    { ...line(7, "no time"), timestamp: null },
  ];

  test("a row filled again with any line is the row that line would get new", () => {
    for (const pattern of [null, /needle|red/g]) {
      for (const timestamps of [false, true]) {
        for (const a of LINES) {
          for (const b of LINES) {
            const row = renderLogRow(a, pattern, timestamps);
            const again = renderLogRow(b, pattern, timestamps, row);
            expect(again).toBe(row);
            expect(again.outerHTML).toBe(renderLogRow(b, pattern, timestamps).outerHTML);
          }
        }
      }
    }
  });

  test("a plain line into a plain row changes its text nodes only", () => {
    const row = renderLogRow(line(1, "first"), null, true);
    const nodes = [...row.querySelectorAll("*")];
    const observer = new MutationObserver(() => {});
    observer.observe(row, { childList: true, subtree: true, attributes: true, characterData: true });
    renderLogRow(line(2, "second"), null, true, row);
    const records = observer.takeRecords();
    observer.disconnect();
    expect([...row.querySelectorAll("*")]).toEqual(nodes);
    expect(records.filter((r) => r.type === "childList")).toEqual([]);
    expect(records.filter((r) => r.type === "attributes").map((r) => r.attributeName)).toEqual(["data-seq"]);
    expect(row.querySelector(".text")!.textContent).toBe("second");
  });
});
