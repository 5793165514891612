import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import VpsCard from "../src/components/VpsCard.svelte";
import type { RateBudget } from "../src/lib/bindings/RateBudget";
import type { ServerStats } from "../src/lib/bindings/ServerStats";
import type { Snapshot } from "../src/lib/bindings/Snapshot";
import { defaultConfig } from "../src/lib/mock/data";
import { VPS_CHARTS, accountOf, budgetPercent, budgetText, chartLimit, findVps, liveRow, seedColumns, splitHosts, statusTone } from "../src/lib/vps";

function vps(slug: string, name: string, memory: number, status = "running"): ServerStats {
  const usage = (percent: number, total: number) => ({ used_gb: (total * percent) / 100, total_gb: total, percent });
  return {
    server_name: slug,
    source_type: "webdock-vps",
    memory: usage(memory, 2),
    swap: usage(0, 0),
    disk: usage(25, 40),
    disks: [{ mount: "/", filesystem: "webdock", ...usage(25, 40) }],
    cpu: { count: 2, percent: 25, per_core: [] },
    network: { rx_bytes_per_s: 0, tx_bytes_per_s: 0 },
    load: { one: 0, five: 0, fifteen: 0 },
    uptime_s: 0,
    status,
    timestamp: "2026-11-23T08:00:00Z",
    vps: {
      account: "work",
      slug,
      name,
      status,
      location: "fi",
      image: "ubuntu-2404",
      ipv4: "203.0.113.10",
      ipv6: null,
      secondary_ips: [],
      web_server: "Nginx",
      virtualization: "kvm",
      profile: { slug: "bit", name: "Bit", ram_gb: 2, disk_gb: 40, cores: 2, threads: 2, price: "4.30 EUR" },
      processes: 97,
      network_quota: { used_gb: 850, allowed_gb: 1000, percent: 85 },
      ingress_mib: 120,
      egress_mib: 80,
      webdock_usage_status: { memory: "crit" },
      sampled_at: "2026-11-23T08:00:00Z",
    },
  };
}

const budget = (remaining: number, blocked: string | null = null): RateBudget => ({
  limit: 5000,
  remaining,
  reset_at: "2026-11-23T14:05:00",
  blocked_until: blocked,
});

describe("VPS helpers", () => {
  it("splits Docker hosts from VPS servers and finds the account", () => {
    const local = { ...vps("local", "local", 10), source_type: "docker-host", vps: null };
    const shop = vps("shop1", "Shop", 50);
    const { machines, vps: servers } = splitHosts([local, shop]);
    expect(machines.map((h) => h.server_name)).toEqual(["local"]);
    expect(servers.map((h) => h.server_name)).toEqual(["shop1"]);
    const account = { name: "work", kind: "webdock", rate_limit: budget(4990) };
    const snapshot = { sources: [{ name: "work", kind: "docker" }, account] } as unknown as Snapshot;
    expect(accountOf(snapshot, shop)).toBe(account);
    expect(accountOf(snapshot, local)).toBeNull();
  });

  it("says the budget in words, and when nothing is sent", () => {
    expect(budgetText(null)).toBe("rate limit not known yet");
    expect(budgetText(budget(4990), Date.parse("2026-11-23T13:00:00"))).toBe("4990 of 5000 requests left · resets 14:05");
    expect(budgetText(budget(0, "2026-11-23T14:05:00"), Date.parse("2026-11-23T13:00:00"))).toBe(
      "rate limited: no requests until 14:05",
    );
    expect(budgetPercent(budget(1250))).toBe(25);
    expect(budgetPercent(null)).toBeNull();
  });

  it("colours Webdock statuses", () => {
    expect(statusTone("running")).toBe("ok");
    expect(statusTone("rebooting")).toBe("warning");
    expect(statusTone("stopped")).toBe("critical");
    expect(statusTone("suspended")).toBe("critical");
  });
});

describe("VpsCard", () => {
  it("shows the server, colour-coded gauges by the thresholds, and the budget", () => {
    render(VpsCard, {
      stats: vps("shop1", "Shop", 97.2),
      thresholds: defaultConfig().thresholds,
      alerts: [],
      account: { name: "work", kind: "webdock", rate_limit: budget(4990) } as never,
    });
    expect(screen.getByRole("heading", { name: "Shop" })).toBeTruthy();
    const text = document.body.textContent ?? "";
    expect(text).toContain("shop1");
    expect(text).toContain("running");
    expect(text).toContain("97 processes");
    expect(text).toContain("Webdock memory: crit");
    expect(text).toContain("4990 of 5000 requests left");
    const tones = Array.from(document.querySelectorAll(".gauge")).map((g) => g.className);
    // Memory 97.2 % is over critical (95); network quota 85 % over warning (80); CPU and disk are fine.
    expect(tones.filter((c) => c.includes("tone-critical"))).toHaveLength(1);
    expect(tones.filter((c) => c.includes("tone-warning"))).toHaveLength(1);
    expect(tones.filter((c) => c.includes("tone-ok"))).toHaveLength(2);
  });
});

describe("VPS history from Webdock", () => {
  it("turns historic metrics into time-aligned chart columns with the issue's spans", () => {
    const at = (h: number) => new Date(Date.UTC(2026, 10, 23, h)).toISOString();
    const s = (h: number) => Date.UTC(2026, 10, 23, h) / 1000;
    const history = {
      cpu_percent: [
        { at: at(8), value: 10 },
        { at: at(6), value: 50 },
        { at: "not a time", value: 99 },
      ],
      memory_gb: [],
      memory_percent: [{ at: at(8), value: 75 }],
      disk_gb: [],
      disk_allowed_gb: 40,
      ingress_mib: [
        { at: at(0), value: 100 },
        { at: at(24), value: 200 },
      ],
      egress_mib: [{ at: at(24), value: 50 }],
      network_used_gb: null,
      network_allowed_gb: null,
      processes: [],
    };
    const spans = Object.fromEntries(VPS_CHARTS.map((c) => [c.key, [c.span, c.windowS]]));
    expect(spans).toEqual({
      cpu: ["12 h", 12 * 3600],
      memory: ["24 h", 24 * 3600],
      disk: ["7 days", 7 * 86400],
      network: ["7 days", 7 * 86400],
      processes: ["12 h", 12 * 3600],
    });
    // Sorted by time, unparsable times dropped.
    expect(seedColumns("cpu", history)).toEqual([
      [s(6), s(8)],
      [50, 10],
    ]);
    expect(seedColumns("memory", history)).toEqual([[s(8)], [75]]);
    expect(seedColumns("disk", history)).toEqual([[], []]);
    // In and out share the time axis; a day missing on one side is a gap.
    expect(seedColumns("network", history)).toEqual([
      [s(0), s(24)],
      [100, 200],
      [null, 50],
    ]);
    expect(chartLimit("disk", history)).toBe(40);
    expect(chartLimit("cpu", history)).toBeNull();
  });

  it("reads a live sample at Webdock's sampling time", () => {
    const shop = vps("shop1", "Shop", 60);
    const t = Date.parse("2026-11-23T08:00:00Z") / 1000;
    expect(liveRow("cpu", shop)).toEqual({ t, values: [25] });
    expect(liveRow("memory", shop)).toEqual({ t, values: [60] });
    expect(liveRow("disk", shop)).toEqual({ t, values: [10] });
    expect(liveRow("network", shop)).toEqual({ t, values: [120, 80] });
    expect(liveRow("processes", shop)).toEqual({ t, values: [97] });
    const noTraffic = { ...shop, vps: { ...shop.vps!, ingress_mib: null, egress_mib: null, processes: null } };
    expect(liveRow("network", noTraffic)).toBeNull();
    expect(liveRow("processes", noTraffic)).toBeNull();
    expect(liveRow("cpu", { ...shop, vps: null })).toBeNull();
    const snapshot = { hosts: [vps("blog1", "Blog", 10), shop] } as unknown as Snapshot;
    expect(findVps(snapshot, "work", "shop1")).toBe(shop);
    expect(findVps(snapshot, "other", "shop1")).toBeNull();
  });
});
