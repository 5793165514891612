// A gauge's colour follows what the alert engine applies and says: the configured thresholds with the host's
// overrides, and the level of an active alert on the same figure. Never green while a level is raised, and
// never green when nothing judges the figure.
import { render } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import HostCard from "../src/components/HostCard.svelte";
import type { Alert } from "../src/lib/bindings/Alert";
import type { ServerStats } from "../src/lib/bindings/ServerStats";
import type { Thresholds } from "../src/lib/bindings/Thresholds";
import { makeAlert } from "../src/lib/mock/data";
import { live } from "../src/lib/state/live.svelte";
import { alertTone, gaugeTone, hostThreshold } from "../src/lib/util/levels";
import { setup, T0, teardown } from "./helpers";

let ctx: ReturnType<typeof setup>;
beforeEach(() => (ctx = setup()));
afterEach(teardown);

/** The local host of the mock with its root disk at `percent`. */
function local(percent: number): ServerStats {
  const h = structuredClone(ctx.mock.snapshot().hosts.find((x) => x.server_name === "local")!);
  const total = 252;
  const disk = { mount: "/", filesystem: "ext4", total_gb: total, used_gb: (total * percent) / 100, percent };
  return { ...h, disk: { used_gb: disk.used_gb, total_gb: total, percent }, disks: [disk] };
}

function diskAlert(level: "warning" | "critical", fields: Partial<Alert> = {}): Alert {
  return makeAlert({
    target: { kind: "host", host: "local", id: "local", name: "local" },
    metric: "host_disk_percent",
    detail: "/",
    level,
    value: 93.7,
    threshold: 90,
    unit: "%",
    message: "local disk / at 93.7 %",
    started_at: new Date(T0 - 60_000).toISOString(),
    ...fields,
  });
}

function thresholds(change: (t: Thresholds) => void): Thresholds {
  const t = structuredClone(ctx.mock.config.thresholds);
  change(t);
  return t;
}

/** The tone of the card's gauge whose label starts with `label`, and what a screen reader hears of it. */
function gauge(label: string): { tone: string | null; spoken: string | null } {
  const g = [...document.querySelectorAll<HTMLElement>(".gauge")].find((el) => el.querySelector(".label")?.textContent?.startsWith(label));
  if (!g) throw new Error(`no ${label} gauge`);
  return { tone: g.dataset.tone ?? null, spoken: g.querySelector("[role=meter]")?.getAttribute("aria-label") ?? null };
}

describe("the host card's gauges", () => {
  test("a disk at 93.7 % with an active disk warning is not green, even with the host's thresholds off", () => {
    const off = thresholds((t) => (t.host_disk_percent.enabled = false));
    render(HostCard, { stats: local(93.7), thresholds: off, containers: [], alerts: [diskAlert("warning")] });
    const disk = gauge("Disk /");
    expect(disk.tone).toBe("warning");
    expect(disk.spoken).toBe("Disk /: 93.7 %, warning");
    // The warning is said with a shape and words, not only with colour.
    expect(document.querySelector(".gauge .mark")?.textContent).toContain("warning");
  });

  test("an active critical alert raises the gauge over what the threshold alone says", () => {
    // The value sits under the warning line (hysteresis: the alert clears only well below it), the alert is
    // still critical: the engine's word counts.
    render(HostCard, { stats: local(78), thresholds: ctx.mock.config.thresholds, containers: [], alerts: [diskAlert("critical")] });
    expect(gauge("Disk /").tone).toBe("critical");
  });

  test("a resolved alert, another mount's alert or a container's alert leaves the disk gauge alone", () => {
    const alerts = [
      diskAlert("critical", { resolved_at: new Date(T0).toISOString() }),
      diskAlert("critical", { detail: "/var/lib/docker" }),
      makeAlert({ target: { kind: "container", host: "local", id: "c1", name: "web" }, metric: "host_disk_percent", level: "critical", value: 1, threshold: 1, unit: "%", message: "x", started_at: new Date(T0).toISOString() }),
    ];
    render(HostCard, { stats: local(50), thresholds: ctx.mock.config.thresholds, containers: [], alerts });
    expect(gauge("Disk /").tone).toBe("ok");
  });

  test("the host's own override of a threshold colours its gauge as the engine judges it", () => {
    // Defaults: warning 95. An override for this host: warning 90. 93.7 % is a warning here.
    const base = thresholds((t) => Object.assign(t.host_disk_percent, { warning: 95, critical: 98, enabled: true }));
    live.config = {
      ...ctx.mock.config,
      thresholds: base,
      overrides: [
        { host: "elsewhere", thresholds: { host_disk_percent: { warning: 99, critical: null, enabled: null } } },
        { host: "local", thresholds: { host_disk_percent: { warning: 90, critical: null, enabled: null } } },
      ],
    };
    render(HostCard, { stats: local(93.7), thresholds: base, containers: [], alerts: [] });
    expect(gauge("Disk /").tone).toBe("warning");
  });

  test("a figure no threshold judges and no alert names is grey, not the green of 'within thresholds'", () => {
    const off = thresholds((t) => (t.host_disk_percent.enabled = false));
    render(HostCard, { stats: local(93.7), thresholds: off, containers: [], alerts: [] });
    expect(gauge("Disk /")).toEqual({ tone: "none", spoken: "Disk /: 93.7 %, no threshold" });
    // CPU's threshold is on: judged as before.
    expect(gauge("CPU").tone).not.toBe("none");
  });

  test("before the settings arrive (no thresholds known) an active alert still shows", () => {
    live.config = null;
    render(HostCard, { stats: local(93.7), thresholds: null, containers: [], alerts: [diskAlert("warning")] });
    expect(gauge("Disk /").tone).toBe("warning");
  });
});

describe("tone helpers", () => {
  test("hostThreshold folds the overrides naming the host, later ones winning", () => {
    const t = ctx.mock.config.thresholds;
    const overrides = [
      { host: "local", thresholds: { host_cpu_percent: { warning: 50, critical: null, enabled: null } } },
      { host: "local", thresholds: { host_cpu_percent: { warning: 60, critical: 70, enabled: null } } },
      { container: "local", thresholds: { host_cpu_percent: { warning: 1, critical: 2, enabled: false } } },
    ];
    expect(hostThreshold(t, overrides, "local", "host_cpu_percent")).toMatchObject({ warning: 60, critical: 70, enabled: true });
    expect(hostThreshold(t, overrides, "edge-01", "host_cpu_percent")).toMatchObject({ warning: t.host_cpu_percent.warning });
    expect(hostThreshold(null, overrides, "local", "host_cpu_percent")).toBeNull();
  });

  test("gaugeTone: the worse of the threshold's verdict and the alert's level", () => {
    const th = { warning: 80, critical: 95, enabled: true };
    expect(gaugeTone(50, th)).toBe("ok");
    expect(gaugeTone(85, th)).toBe("warning");
    expect(gaugeTone(85, th, "critical")).toBe("critical");
    expect(gaugeTone(97, th, "warning")).toBe("critical");
    expect(gaugeTone(97, { ...th, enabled: false })).toBe("none");
    expect(gaugeTone(null, th, "warning")).toBe("warning");
    expect(alertTone([diskAlert("warning"), diskAlert("critical")], "host_disk_percent", "/")).toBe("critical");
    expect(alertTone([diskAlert("warning")], "host_cpu_percent")).toBe("none");
  });
});
