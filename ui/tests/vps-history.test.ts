import { render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { ServerStats } from "../src/lib/bindings/ServerStats";
import type { Snapshot } from "../src/lib/bindings/Snapshot";
import { live } from "../src/lib/state/live.svelte";
import VpsHistory from "../src/components/VpsHistory.svelte";
import { settle, setup, teardown, T0 } from "./helpers";

/** The VPS shop1 of account work as the engine pushes it, sampled by Webdock at `sampledMs`. */
function shop(sampledMs: number, cpu: number): ServerStats {
  const usage = (percent: number, total: number) => ({ used_gb: (total * percent) / 100, total_gb: total, percent });
  const at = new Date(sampledMs).toISOString();
  return {
    server_name: "shop1",
    source_type: "webdock-vps",
    memory: usage(60, 2),
    swap: usage(0, 0),
    disk: usage(25, 40),
    disks: [],
    cpu: { count: 2, percent: cpu, per_core: [] },
    network: { rx_bytes_per_s: 0, tx_bytes_per_s: 0 },
    load: { one: 0, five: 0, fifteen: 0 },
    uptime_s: 0,
    status: "running",
    timestamp: at,
    vps: {
      account: "work",
      slug: "shop1",
      name: "Shop",
      status: "running",
      location: "fi",
      image: null,
      ipv4: null,
      ipv6: null,
      secondary_ips: [],
      web_server: null,
      virtualization: null,
      profile: null,
      processes: 97,
      network_quota: null,
      ingress_mib: 120,
      egress_mib: 80,
      webdock_usage_status: {},
      sampled_at: at,
    },
  };
}

describe("VpsHistory", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  const charts = () => [...document.querySelectorAll<HTMLElement>("figure.chart")];
  const byTitle = (title: string) => charts().find((f) => f.querySelector(".title")?.textContent === title)!;
  const points = (title: string) => Number(byTitle(title).getAttribute("data-points"));
  const last = (title: string) => Number(byTitle(title).getAttribute("data-last"));

  function push(vps: ServerStats) {
    const snapshot: Snapshot = ctx.mock.snapshot();
    live.apply({ ...snapshot, hosts: [...snapshot.hosts, vps] });
  }

  async function open() {
    render(VpsHistory, { props: { account: "work", slug: "shop1" } });
    await waitFor(() => expect(charts()).toHaveLength(5));
    await settle();
  }

  test("draws uPlot time charts seeded from Webdock's history over the issue's spans", async () => {
    await open();
    expect(ctx.mock.calls.find((c) => c.command === "get_vps_history")?.args).toEqual({ account: "work", slug: "shop1" });
    expect(charts().map((f) => f.querySelector(".title")?.textContent)).toEqual([
      "CPU, last 12 h",
      "Memory, last 24 h",
      "Disk, last 7 days",
      "Traffic per day, last 7 days",
      "Processes, last 12 h",
    ]);
    // Every chart is a real uPlot with a text legend of its latest values (no hover needed), not a sparkline.
    for (const figure of charts()) {
      expect(figure.querySelector(".uplot canvas")).toBeTruthy();
      expect(figure.querySelector("ul.legend")?.textContent).not.toContain("–");
    }
    expect(document.querySelector("svg.sparkline, .sparkline")).toBeNull();
    // The mock's history: CPU every 30 min ending now, memory hourly, disk and traffic daily.
    expect([points("CPU, last 12 h"), points("Memory, last 24 h"), points("Disk, last 7 days")]).toEqual([4, 2, 2]);
    expect(points("Traffic per day, last 7 days")).toBe(2);
    expect(last("CPU, last 12 h")).toBe(T0 / 1000);
    expect(byTitle("CPU, last 12 h").getAttribute("aria-label")).toBe(
      "CPU, last 12 h (from Webdock). CPU: latest 20.0 %, peak 50.0 %",
    );
    expect(byTitle("CPU, last 12 h").querySelector("ul.legend")?.textContent?.replace(/\s+/g, " ").trim()).toBe(
      "CPU 20.0 % peak 50.0 %",
    );
    expect(byTitle("Disk, last 7 days").querySelector("ul.legend")?.textContent).toContain("Allowed");
    expect(byTitle("Traffic per day, last 7 days").getAttribute("aria-label")).toContain("In: latest 200 MiB");
  });

  test("appends each new Webdock sample and drops what falls out of a chart's span", async () => {
    await open();
    const asked = ctx.mock.calls.length;
    const next = T0 + 5 * 60_000;
    push(shop(next, 42));
    await settle();
    expect([points("CPU, last 12 h"), points("Memory, last 24 h"), points("Processes, last 12 h")]).toEqual([5, 3, 3]);
    expect(last("CPU, last 12 h")).toBe(next / 1000);
    expect(byTitle("CPU, last 12 h").getAttribute("aria-label")).toContain("CPU: latest 42.0 %");
    expect(byTitle("Traffic per day, last 7 days").getAttribute("aria-label")).toContain("In: latest 120 MiB");
    // The same Webdock sample pushed again (the engine re-publishes every round) adds nothing.
    push(shop(next, 42));
    await settle();
    expect(points("CPU, last 12 h")).toBe(5);
    // 12 hours on, the 12 h charts keep only what is younger than 12 h (the sample 5 minutes after the seed's
    // end, and this one); the 24 h and 7-day charts keep everything.
    const later = T0 + 12 * 3600_000 + 2 * 60_000;
    push(shop(later, 7));
    await settle();
    expect(points("CPU, last 12 h")).toBe(2);
    expect(last("CPU, last 12 h")).toBe(later / 1000);
    expect([points("Memory, last 24 h"), points("Disk, last 7 days")]).toEqual([4, 4]);
    // Live samples come from pushed snapshots, not from asking the shell again.
    expect(ctx.mock.calls.length).toBe(asked);
  });

  test("another server's samples are not appended", async () => {
    await open();
    const other = shop(T0 + 60_000, 99);
    push({ ...other, server_name: "blog1", vps: { ...other.vps!, slug: "blog1" } });
    await settle();
    expect(points("CPU, last 12 h")).toBe(4);
  });

  test("a failure is shown as text, markup and all", async () => {
    const invoke = ctx.mock.invoke.bind(ctx.mock);
    ctx.mock.invoke = ((command: string, args: unknown) =>
      command === "get_vps_history"
        ? Promise.reject("Webdock says <img src=x onerror=alert(1)>")
        : invoke(command as never, args as never)) as typeof ctx.mock.invoke;
    render(VpsHistory, { props: { account: "work", slug: "shop1" } });
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(document.querySelector("img")).toBeNull();
    expect(charts()).toHaveLength(0);
  });
});
