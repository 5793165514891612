import type { Level } from "../bindings/Level";
import type { OverallLevel } from "../bindings/OverallLevel";
import type { Threshold } from "../bindings/Threshold";

/** A gauge's colour: ok (green), warning (yellow), critical (red), or none when the metric has no threshold. */
export type Tone = "ok" | "warning" | "critical" | "none";

export function toneFor(value: number | null | undefined, threshold: Threshold | null | undefined): Tone {
  if (value === null || value === undefined || !Number.isFinite(value)) return "none";
  if (!threshold || !threshold.enabled) return "ok";
  if (value >= threshold.critical) return "critical";
  if (value >= threshold.warning) return "warning";
  return "ok";
}

export const LEVEL_RANK: Record<Level, number> = { resolved: 0, info: 1, warning: 2, critical: 3 };

export function overallLabel(level: OverallLevel): string {
  switch (level) {
    case "ok":
      return "All good";
    case "warning":
      return "Warning";
    case "critical":
      return "Critical";
    case "unreachable":
      return "Unreachable";
  }
}

/** Human names of alert metrics. */
export const METRIC_LABELS: Record<string, string> = {
  container_cpu_percent: "Container CPU",
  container_memory_percent: "Container memory",
  container_net_rx_mb_per_s: "Container network in",
  container_net_tx_mb_per_s: "Container network out",
  host_cpu_percent: "Host CPU",
  host_memory_percent: "Host memory",
  host_disk_percent: "Host disk",
  vps_network_quota_percent: "VPS network quota",
  vps_status: "VPS status",
  exited: "Exited",
  oom_killed: "Out of memory",
  unhealthy: "Unhealthy",
  restart_loop: "Restart loop",
  disappeared: "Removed",
  unreachable: "Unreachable",
};

export function metricLabel(metric: string): string {
  return METRIC_LABELS[metric] ?? metric;
}
