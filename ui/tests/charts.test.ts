import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { live } from "../src/lib/state/live.svelte";
import type { HistoryTarget } from "../src/lib/types";
import StatsTab from "../src/views/detail/StatsTab.svelte";
import { settle, setup, teardown } from "./helpers";

type HistoryArgs = { target: HistoryTarget; metric: string; range: string };

const METRICS = [
  "cpu_percent",
  "memory_bytes",
  "net_rx_bytes_per_s",
  "net_tx_bytes_per_s",
  "block_read_bytes_per_s",
  "block_write_bytes_per_s",
];

describe("container stats charts", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  const history = () => ctx.mock.calls.filter((c) => c.command === "get_history").map((c) => c.args as HistoryArgs);
  const lastTimes = (container: HTMLElement) =>
    [...container.querySelectorAll("figure.chart")].map((f) => Number(f.getAttribute("data-last")));
  const points = (container: HTMLElement) =>
    [...container.querySelectorAll("figure.chart")].map((f) => Number(f.getAttribute("data-points")));

  async function open() {
    const c = live.snapshot!.containers.find((x) => x.name === "shop-db-1")!;
    const view = render(StatsTab, { props: { container: c } });
    await waitFor(() => expect(history()).toHaveLength(METRICS.length));
    await waitFor(() => expect(points(view.container).every((n) => n > 0)).toBe(true));
    return { ...view, c };
  }

  test("opens live, seeded from the last 15 minutes of history", async () => {
    const { container, c } = await open();
    const calls = history();
    expect(calls.map((a) => a.metric).sort()).toEqual([...METRICS].sort());
    expect(calls.every((a) => a.range === "15m")).toBe(true);
    expect(calls[0].target).toEqual({ kind: "container", host: c.host, id: c.id });
    expect(screen.getByRole("radio", { name: /Live/ }).getAttribute("aria-checked")).toBe("true");
    expect(points(container).every((n) => n > 400)).toBe(true);
  });

  test("each range asks get_history for that range", async () => {
    await open();
    for (const [label, range] of [
      ["1 h", "1h"],
      ["24 h", "24h"],
      ["7 d", "7d"],
      ["15 min", "15m"],
    ]) {
      const before = history().length;
      await fireEvent.click(screen.getByRole("radio", { name: label }));
      await waitFor(() => expect(history().length).toBe(before + METRICS.length));
      const asked = history().slice(before);
      expect(asked.every((a) => a.range === range)).toBe(true);
      expect(asked.map((a) => a.metric).sort()).toEqual([...METRICS].sort());
      expect(screen.getByRole("radio", { name: label }).getAttribute("aria-checked")).toBe("true");
    }
  });

  test("live mode appends pushed snapshots without asking for history again", async () => {
    const { container } = await open();
    const before = lastTimes(container);
    const count = points(container);
    const asked = history().length;
    for (let i = 0; i < 3; i++) {
      ctx.clock.now += 2000;
      live.apply(ctx.mock.tick());
      await settle();
    }
    // Three new samples at the end; the 15-minute window drops as many from the start.
    lastTimes(container).forEach((t, i) => expect(t).toBe(before[i] + 6));
    expect(points(container)).toEqual(count);
    expect(history().length).toBe(asked);
  });

  test("a fixed range does not move with pushed snapshots", async () => {
    const { container } = await open();
    await fireEvent.click(screen.getByRole("radio", { name: "1 h" }));
    await waitFor(() => expect([...container.querySelectorAll("figure")].every((f) => f.getAttribute("data-range") === "1h")).toBe(true));
    await settle();
    const before = lastTimes(container);
    ctx.clock.now += 2000;
    live.apply(ctx.mock.tick());
    await settle();
    expect(lastTimes(container)).toEqual(before);
  });

  test("arrow keys move between ranges", async () => {
    await open();
    const liveButton = screen.getByRole("radio", { name: /Live/ });
    liveButton.focus();
    await fireEvent.keyDown(liveButton, { key: "ArrowRight" });
    await waitFor(() => expect(screen.getByRole("radio", { name: "15 min" }).getAttribute("aria-checked")).toBe("true"));
  });

  const memoryChart = (container: HTMLElement) =>
    [...container.querySelectorAll("figure.chart")].find((f) => f.querySelector(".title")?.textContent === "Memory") as HTMLElement;

  test("memory with a limit of its own is drawn against that limit", async () => {
    const { container } = await open();
    const figure = memoryChart(container);
    expect(figure.querySelector(".note")).toBeNull();
    expect(figure.querySelector("ul.legend")?.textContent).toMatch(/Limit\s*1\.0 GiB/);
    expect(figure.getAttribute("aria-label")).toContain("limit 1.0 GiB");
  });

  test("memory without a limit is scaled to its usage, the host's memory given as text", async () => {
    const c = live.snapshot!.containers.find((x) => x.name === "portainer")!;
    const host = live.snapshot!.hosts.find((h) => h.server_name === c.host)!;
    // Docker reports the host's memory as the limit of a container that has none.
    expect(c.stats!.memory_limit_bytes).toBe(host.memory.total_gb * 1024 ** 3);
    const { container } = render(StatsTab, { props: { container: c } });
    await waitFor(() => expect(points(container).every((n) => n > 0)).toBe(true));
    const figure = memoryChart(container);
    expect(figure.querySelector(".note")?.textContent).toBe(`no limit · host has ${host.memory.total_gb.toFixed(1)} GiB`);
    expect(figure.querySelector("ul.legend")?.textContent).not.toContain("Limit");
    expect(figure.getAttribute("aria-label")).not.toMatch(/; limit /);
    expect(screen.getByText(/\(no limit\)/)).toBeTruthy();
  });

  test("each legend shows the latest values as text, no hovering needed", async () => {
    const { container, c } = await open();
    const cpu = container.querySelector("figure.chart ul.legend")!;
    expect(cpu.textContent).toMatch(/CPU\s*[\d.]+ %\s*peak [\d.]+ %/);
    const network = [...container.querySelectorAll("figure.chart")].find((f) => f.querySelector(".title")?.textContent === "Network")!;
    const items = [...network.querySelectorAll("ul.legend li")].map((li) => li.textContent?.replace(/\s+/g, " ").trim());
    expect(items[0]).toMatch(/^Received [\d.]+ (B|KiB|MiB)\/s peak /);
    expect(items[1]).toMatch(/^Sent [\d.]+ (B|KiB|MiB)\/s peak /);
    // The legend follows pushed samples.
    ctx.clock.now += 2000;
    live.apply(ctx.mock.tick());
    await settle();
    const latest = live.container(c.host, c.id)!.stats!.cpu_percent;
    expect(cpu.textContent).toContain(latest < 10 ? latest.toFixed(2) : latest.toFixed(1));
  });
});
