// Webdock VPS servers in the window: which hosts are VPS, the account each is seen through, its rate-limit
// budget in words, and the colour of its Webdock status. Pure, so it is tested without a DOM.
import type { RateBudget } from "./bindings/RateBudget";
import type { ServerStats } from "./bindings/ServerStats";
import type { Snapshot } from "./bindings/Snapshot";
import type { SourceStatus } from "./bindings/SourceStatus";
import type { VpsHistory } from "./bindings/VpsHistory";
import type { Tone } from "./util/levels";

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

/** One chart of Webdock's historic metrics, ready to draw. */
export type VpsChart = { title: string; span: string; unit: string; values: number[]; latest: number | null; peak: number | null; max: number | null };

/** Webdock's historic metrics as the detail view's charts: CPU 12 h, memory 24 h, disk and traffic 7 days. */
export function historyCharts(history: VpsHistory): VpsChart[] {
  const chart = (title: string, span: string, unit: string, points: { value: number }[], max: number | null = null): VpsChart => {
    const values = points.map((p) => p.value);
    return {
      title,
      span,
      unit,
      values,
      latest: values.length ? values[values.length - 1] : null,
      peak: values.length ? Math.max(...values) : null,
      max,
    };
  };
  return [
    chart("CPU", "12 h", "%", history.cpu_percent, 100),
    chart("Memory", "24 h", "%", history.memory_percent, 100),
    chart("Disk", "7 days", "GB", history.disk_gb, history.disk_allowed_gb),
    chart("Traffic in", "7 days", "MiB/day", history.ingress_mib),
    chart("Traffic out", "7 days", "MiB/day", history.egress_mib),
    chart("Processes", "12 h", "", history.processes),
  ];
}
