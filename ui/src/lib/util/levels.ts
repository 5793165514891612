import type { Alert } from "../bindings/Alert";
import type { Level } from "../bindings/Level";
import type { OverallLevel } from "../bindings/OverallLevel";
import type { Override } from "../bindings/Override";
import type { Threshold } from "../bindings/Threshold";
import type { Thresholds } from "../bindings/Thresholds";

/** A gauge's colour: ok (green), warning (yellow), critical (red), or none when the value is not judged (no
 * figure, or no enabled threshold). */
export type Tone = "ok" | "warning" | "critical" | "none";

export function toneFor(value: number | null | undefined, threshold: Threshold | null | undefined): Tone {
  if (value === null || value === undefined || !Number.isFinite(value)) return "none";
  if (!threshold || !threshold.enabled) return "ok";
  if (value >= threshold.critical) return "critical";
  if (value >= threshold.warning) return "warning";
  return "ok";
}

const TONE_RANK: Record<Tone, number> = { none: 0, ok: 1, warning: 2, critical: 3 };

/** The worse of two tones (critical over warning over ok over none). */
export function worseTone(a: Tone, b: Tone): Tone {
  return TONE_RANK[b] > TONE_RANK[a] ? b : a;
}

/** The threshold the alert engine applies to a host's (or VPS's) own metric: the default, changed by the
 * overrides naming that host, later ones winning (src/alerts/rules.rs, `Rules::for_host`). */
export function hostThreshold(
  thresholds: Thresholds | null | undefined,
  overrides: Override[] | null | undefined,
  host: string,
  metric: keyof Thresholds,
): Threshold | null {
  const base = thresholds?.[metric];
  if (!base) return null;
  let merged: Threshold = { ...base };
  for (const rule of overrides ?? []) {
    const change = rule.host === host ? rule.thresholds[metric] : undefined;
    if (!change) continue;
    merged = {
      ...merged,
      warning: change.warning ?? merged.warning,
      critical: change.critical ?? merged.critical,
      enabled: change.enabled ?? merged.enabled,
    };
  }
  return merged;
}

/** The level of the active alerts on one metric (and, for disks, one mount) as a tone: "none" when none is
 * active. `alerts` are the target's own. */
export function alertTone(alerts: readonly Alert[], metric: string, detail: string | null = null): Tone {
  let tone: Tone = "none";
  for (const a of alerts) {
    if (a.metric !== metric || a.resolved_at !== null) continue;
    if (detail !== null && a.detail !== null && a.detail !== detail) continue;
    if (a.level === "warning" || a.level === "critical") tone = worseTone(tone, a.level);
  }
  return tone;
}

/** A gauge's tone: its value against the threshold when one is enabled, raised to the level of an active
 * alert on the same figure (an alert holds its level through the hold time and the hysteresis, and the engine
 * is what judged it); "none" (not judged, no colour of a level) when neither applies. */
export function gaugeTone(value: number | null | undefined, threshold: Threshold | null | undefined, alert: Tone = "none"): Tone {
  const judged = threshold?.enabled ? toneFor(value, threshold) : "none";
  return worseTone(judged, alert);
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
