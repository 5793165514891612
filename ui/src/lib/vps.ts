// Webdock VPS servers in the window: which hosts are VPS, the account each is seen through, its rate-limit
// budget in words, the colour of its Webdock status, and its charts' data from Webdock's historic metrics and
// live samples. Pure, so it is tested without a DOM.
import type { RateBudget } from "./bindings/RateBudget";
import type { ServerStats } from "./bindings/ServerStats";
import type { Snapshot } from "./bindings/Snapshot";
import type { SourceStatus } from "./bindings/SourceStatus";
import type { VpsHistory } from "./bindings/VpsHistory";
import type { VpsPoint } from "./bindings/VpsPoint";
import type { Tone } from "./util/levels";
import type { Columns } from "./util/series";

/** Docker hosts and Webdock VPS servers, each in the snapshot's order. */
export function splitHosts(hosts: ServerStats[]): { machines: ServerStats[]; vps: ServerStats[] } {
  return {
    machines: hosts.filter((h) => h.vps === null || h.vps === undefined),
    vps: hosts.filter((h) => h.vps !== null && h.vps !== undefined),
  };
}

/** The Webdock account source a VPS is read through. */
export function accountOf(snapshot: Snapshot, stats: ServerStats): SourceStatus | null {
  const account = stats.vps?.account;
  if (!account) return null;
  return snapshot.sources.find((s) => s.kind === "webdock" && s.name === account) ?? null;
}

/** "4990 of 5000 requests left · resets 14:05", or why nothing is sent. */
export function budgetText(budget: RateBudget | null | undefined, now = Date.now()): string {
  if (!budget || (budget.remaining === null && budget.limit === null)) return "rate limit not known yet";
  const hhmm = (iso: string) => {
    const d = new Date(iso);
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  };
  if (budget.blocked_until && Date.parse(budget.blocked_until) > now) {
    return `rate limited: no requests until ${hhmm(budget.blocked_until)}`;
  }
  const left =
    budget.limit !== null && budget.remaining !== null
      ? `${budget.remaining} of ${budget.limit} requests left`
      : `${budget.remaining ?? "?"} requests left`;
  return budget.reset_at ? `${left} · resets ${hhmm(budget.reset_at)}` : left;
}

/** Share of the budget left, 0-100, or null when unknown (for a gauge). */
export function budgetPercent(budget: RateBudget | null | undefined): number | null {
  if (!budget || budget.limit === null || budget.remaining === null || budget.limit <= 0) return null;
  return Math.max(0, Math.min(100, (budget.remaining / budget.limit) * 100));
}

/** Webdock's server status as a tone: running is fine, changing state a warning, anything else critical. */
export function statusTone(status: string): Tone {
  if (status === "running") return "ok";
  if (["provisioning", "rebooting", "starting", "stopping", "reinstalling"].includes(status)) return "warning";
  return "critical";
}

/** One of a VPS's charts from Webdock's historic metrics: what it shows, over how long, in which unit. */
export type VpsChartKey = "cpu" | "memory" | "disk" | "network" | "processes";
export type VpsChartSpec = {
  key: VpsChartKey;
  title: string;
  /** The span Webdock's history covers, in words and in seconds (live samples older than this are dropped). */
  span: string;
  windowS: number;
  series: { label: string; colour: string }[];
  unit: string;
  yMax: number | null;
};

const HOUR_S = 3600;
const DAY_S = 24 * HOUR_S;

/** CPU over 12 h, memory over 24 h, disk and traffic over 7 days (as Webdock keeps them), processes over 12 h. */
export const VPS_CHARTS: VpsChartSpec[] = [
  { key: "cpu", title: "CPU", span: "12 h", windowS: 12 * HOUR_S, series: [{ label: "CPU", colour: "--accent" }], unit: "%", yMax: 100 },
  { key: "memory", title: "Memory", span: "24 h", windowS: DAY_S, series: [{ label: "Memory", colour: "--ansi-5" }], unit: "%", yMax: 100 },
  { key: "disk", title: "Disk", span: "7 days", windowS: 7 * DAY_S, series: [{ label: "Used", colour: "--ansi-6" }], unit: "GB", yMax: null },
  {
    key: "network",
    title: "Traffic per day",
    span: "7 days",
    windowS: 7 * DAY_S,
    series: [
      { label: "In", colour: "--ok" },
      { label: "Out", colour: "--accent" },
    ],
    unit: "MiB",
    yMax: null,
  },
  { key: "processes", title: "Processes", span: "12 h", windowS: 12 * HOUR_S, series: [{ label: "Processes", colour: "--ansi-3" }], unit: "", yMax: null },
];

/** uPlot columns (x in seconds) of several point lists aligned on the union of their times; gaps are null. */
export function alignPoints(lists: VpsPoint[][]): Columns {
  const times = new Set<number>();
  const maps = lists.map((points) => {
    const map = new Map<number, number>();
    for (const p of points) {
      const t = Date.parse(p.at) / 1000;
      if (Number.isNaN(t) || !Number.isFinite(p.value)) continue;
      times.add(t);
      map.set(t, p.value);
    }
    return map;
  });
  const xs = [...times].sort((a, b) => a - b);
  return [xs, ...maps.map((m) => xs.map((t) => m.get(t) ?? null))];
}

/** A chart's seed: Webdock's history of that resource. */
export function seedColumns(key: VpsChartKey, history: VpsHistory): Columns {
  switch (key) {
    case "cpu":
      return alignPoints([history.cpu_percent]);
    case "memory":
      return alignPoints([history.memory_percent]);
    case "disk":
      return alignPoints([history.disk_gb]);
    case "network":
      return alignPoints([history.ingress_mib, history.egress_mib]);
    case "processes":
      return alignPoints([history.processes]);
  }
}

/** The line a chart draws at the top (the disk allowance), if any. */
export function chartLimit(key: VpsChartKey, history: VpsHistory): number | null {
  return key === "disk" ? (history.disk_allowed_gb ?? null) : null;
}

/** A live sample of a VPS for one chart: Webdock's sampling time (seconds) and the values, or null without one. */
export function liveRow(key: VpsChartKey, stats: ServerStats): { t: number; values: (number | null)[] } | null {
  const vps = stats.vps;
  if (!vps) return null;
  const t = Date.parse(vps.sampled_at ?? stats.timestamp) / 1000;
  if (Number.isNaN(t)) return null;
  switch (key) {
    case "cpu":
      return { t, values: [stats.cpu.percent] };
    case "memory":
      return { t, values: [stats.memory.percent] };
    case "disk":
      return { t, values: [stats.disk.used_gb] };
    case "network":
      // Webdock's latest traffic samples cover about the last day, like the history's daily points.
      return vps.ingress_mib === null && vps.egress_mib === null ? null : { t, values: [vps.ingress_mib, vps.egress_mib] };
    case "processes":
      return vps.processes === null ? null : { t, values: [vps.processes] };
  }
}

/** The VPS `account`/`slug` in a snapshot. */
export function findVps(snapshot: Snapshot | null, account: string, slug: string): ServerStats | null {
  return snapshot?.hosts.find((h) => h.vps?.account === account && h.vps.slug === slug) ?? null;
}
