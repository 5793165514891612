import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import VpsCard from "../src/components/VpsCard.svelte";
import type { RateBudget } from "../src/lib/bindings/RateBudget";
import type { ServerStats } from "../src/lib/bindings/ServerStats";
import type { Snapshot } from "../src/lib/bindings/Snapshot";
import { defaultConfig } from "../src/lib/mock/data";
import { accountOf, budgetPercent, budgetText, historyCharts, splitHosts, statusTone } from "../src/lib/vps";

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
  it("turns historic metrics into the detail view's charts", () => {
    const at = "2026-11-23T08:00:00Z";
    const charts = historyCharts({
      cpu_percent: [{ at, value: 10 }, { at, value: 50 }, { at, value: 20 }],
      memory_gb: [],
      memory_percent: [{ at, value: 75 }],
      disk_gb: [],
      disk_allowed_gb: 40,
      ingress_mib: [],
      egress_mib: [],
      network_used_gb: null,
      network_allowed_gb: null,
      processes: [],
    });
    const cpu = charts.find((c) => c.title === "CPU")!;
    expect([cpu.span, cpu.latest, cpu.peak, cpu.max]).toEqual(["12 h", 20, 50, 100]);
    expect(charts.find((c) => c.title === "Memory")!.span).toBe("24 h");
    const disk = charts.find((c) => c.title === "Disk")!;
    expect([disk.span, disk.latest, disk.max]).toEqual(["7 days", null, 40]);
  });
});
