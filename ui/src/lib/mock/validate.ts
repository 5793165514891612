// The engine's configuration rules (src/config/validate.rs `Config::validate`), ported for the mock backend so the
// settings view behaves in a browser as it does in the app. The shell answers with the engine's own check.
import type { Config } from "../bindings/Config";
import type { Threshold } from "../bindings/Threshold";
import type { ThresholdOverride } from "../bindings/ThresholdOverride";
import type { Validation } from "../types";
import { durationMessage, formatDuration, parseDuration } from "../util/duration";

class Invalid extends Error {
  constructor(
    readonly key: string,
    value: string,
    expected: string,
  ) {
    super(`\`${key}\` = ${value} is not valid: expected ${expected}`);
  }
}

/** What serde says when a value cannot even be read (the engine reports it with the key's path). */
class Unreadable extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`\`${key}\`: ${detail}`);
  }
}

const THRESHOLD_LIMITS: [keyof Config["thresholds"], number, string][] = [
  ["container_cpu_percent", 100, "%"],
  ["container_memory_percent", 100, "%"],
  ["container_net_rx_mb_per_s", 1e6, "MB/s"],
  ["container_net_tx_mb_per_s", 1e6, "MB/s"],
  ["host_cpu_percent", 100, "%"],
  ["host_memory_percent", 100, "%"],
  ["host_disk_percent", 100, "%"],
  ["vps_network_quota_percent", 100, "%"],
];

/** Rust prints whole f64s without a fraction ("80"), others as the shortest round-trip form. */
const show = (value: number) => (Number.isFinite(value) ? String(value) : value > 0 ? "inf" : "NaN");

function duration(key: string, text: string): number {
  const seconds = parseDuration(text);
  if (seconds === null) throw new Unreadable(key, durationMessage(text));
  return seconds;
}

const quoted = (seconds: number) => `"${formatDuration(seconds)}"`;

function checkThreshold(key: string, t: Threshold, max: number, unit: string): void {
  for (const part of ["warning", "critical"] as const) {
    const value = t[part];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
      throw new Invalid(`${key}.${part}`, show(value), `a number above 0 and at most ${show(max)} (${unit})`);
    }
  }
  if (t.warning >= t.critical) {
    throw new Invalid(`${key}.warning`, show(t.warning), `a value below critical (${show(t.critical)} ${unit})`);
  }
  if (t.hold !== undefined && duration(`${key}.hold`, t.hold) > 3600) {
    throw new Invalid(`${key}.hold`, `Some(${t.hold})`, `a duration up to "1h"`);
  }
}

function merged(base: Threshold, change: ThresholdOverride): Threshold {
  return {
    warning: change.warning ?? base.warning,
    critical: change.critical ?? base.critical,
    enabled: change.enabled ?? base.enabled,
    hold: change.hold ?? base.hold,
  };
}

const QUIET = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/;

function quietHoursValid(text: string): boolean {
  const m = QUIET.exec(text);
  return !!m && Number(m[1]) < 24 && Number(m[2]) < 60 && Number(m[3]) < 24 && Number(m[4]) < 60;
}

/** Types first, as deserialising would: numbers must be numbers (JSON turns NaN into null). */
function readable(config: Config): void {
  const durations: [string, string | undefined][] = [
    ["interval", config.interval],
    ["docker.reconcile_every", config.docker.reconcile_every],
    ["alerts.hold", config.alerts.hold],
    ["alerts.cooldown", config.alerts.cooldown],
    ["alerts.restart_loop_window", config.alerts.restart_loop_window],
    ["notifications.group_window", config.notifications.group_window],
    ["history.raw_retention", config.history.raw_retention],
    ["history.rollup_retention", config.history.rollup_retention],
    ["history.alert_retention", config.history.alert_retention],
  ];
  for (const [name] of THRESHOLD_LIMITS) durations.push([`thresholds.${name}.hold`, config.thresholds[name].hold]);
  config.overrides.forEach((o, i) => {
    for (const [metric, t] of Object.entries(o.thresholds)) durations.push([`overrides[${i}].thresholds.${metric}.hold`, t.hold]);
  });
  for (const [key, text] of durations) if (text !== undefined) duration(key, text);
  const numbers: [string, unknown, string][] = [
    ["logs.ring_lines", config.logs.ring_lines, "usize"],
    ["alerts.hysteresis_percent", config.alerts.hysteresis_percent, "f64"],
    ["alerts.restart_loop_count", config.alerts.restart_loop_count, "u32"],
  ];
  for (const [name] of THRESHOLD_LIMITS) {
    numbers.push([`thresholds.${name}.warning`, config.thresholds[name].warning, "f64"]);
    numbers.push([`thresholds.${name}.critical`, config.thresholds[name].critical, "f64"]);
  }
  for (const [key, value, type] of numbers) {
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new Unreadable(key, `invalid type: ${value === null || Number.isNaN(value) ? "null" : typeof value}, expected ${type}`);
    }
    if (type !== "f64" && (!Number.isInteger(value) || value < 0)) {
      throw new Unreadable(key, `invalid value: floating point \`${value}\`, expected ${type}`);
    }
  }
}

function check(config: Config): void {
  readable(config);
  const interval = duration("interval", config.interval);
  if (interval < 0.25 || interval > 3600) {
    throw new Invalid("interval", quoted(interval), `a duration between "250ms" and "1h", such as "2s"`);
  }
  const reconcile = duration("docker.reconcile_every", config.docker.reconcile_every);
  if (reconcile < 5) {
    throw new Invalid("docker.reconcile_every", quoted(reconcile), `a duration of at least "5s", such as "60s"`);
  }
  const ring = config.logs.ring_lines;
  if (!Number.isInteger(ring) || ring <= 0 || ring > 1_000_000) {
    throw new Invalid("logs.ring_lines", show(ring), "a whole number of lines from 1 to 1000000, such as 5000");
  }
  config.hosts.forEach((host, index) => {
    const key = `hosts[${index}]`;
    if (!host.name.trim() || host.name.toLowerCase() === "local") {
      throw new Invalid(`${key}.name`, `"${host.name}"`, `a non-empty name other than "local" (the local engine's name)`);
    }
    if (config.hosts.slice(0, index).some((other) => other.name === host.name)) {
      throw new Invalid(`${key}.name`, `"${host.name}"`, "a name no other host uses");
    }
    if (!host.destination.trim() || /\s/.test(host.destination)) {
      throw new Invalid(
        `${key}.destination`,
        `"${host.destination}"`,
        `an SSH destination such as "user@host", "user@host:2222" or an ~/.ssh/config alias`,
      );
    }
  });
  for (const [name, max, unit] of THRESHOLD_LIMITS) {
    checkThreshold(`thresholds.${name}`, config.thresholds[name], max, unit);
  }
  config.overrides.forEach((rule, index) => {
    const key = `overrides[${index}]`;
    const selectors = [rule.container, rule.service, rule.label, rule.host];
    const given = selectors.filter((s) => s !== undefined && s !== null).length;
    if (given !== 1 || selectors.some((s) => typeof s === "string" && !s.trim())) {
      throw new Invalid(
        key,
        `${given} selectors`,
        `exactly one non-empty selector: container = "NAME", service = "NAME", label = "KEY=VALUE" or host = "NAME"`,
      );
    }
    for (const metric of Object.keys(rule.thresholds).sort()) {
      const change = rule.thresholds[metric];
      const metricKey = `${key}.thresholds.${metric}`;
      const known = THRESHOLD_LIMITS.find(([name]) => name === metric);
      if (!known) {
        throw new Invalid(metricKey, "(unknown metric)", `one of ${THRESHOLD_LIMITS.map(([n]) => n).join(", ")}`);
      }
      const hostMetric = metric.startsWith("host_");
      if (hostMetric !== (rule.host !== undefined && rule.host !== null)) {
        throw new Invalid(
          metricKey,
          "(wrong kind of target)",
          "host_* metrics under a `host` override, container_* metrics under container, service or label",
        );
      }
      checkThreshold(metricKey, merged(config.thresholds[known[0]], change), known[1], known[2]);
    }
  });
  const alerts = config.alerts;
  if (!Number.isFinite(alerts.hysteresis_percent) || alerts.hysteresis_percent < 0 || alerts.hysteresis_percent > 50) {
    throw new Invalid("alerts.hysteresis_percent", show(alerts.hysteresis_percent), "a percentage from 0 to 50, such as 10");
  }
  const hold = duration("alerts.hold", alerts.hold);
  if (hold > 3600) throw new Invalid("alerts.hold", quoted(hold), `a duration up to "1h", such as "10s"`);
  duration("alerts.cooldown", alerts.cooldown);
  if (!Number.isInteger(alerts.restart_loop_count) || alerts.restart_loop_count < 2) {
    throw new Invalid("alerts.restart_loop_count", show(alerts.restart_loop_count), "a whole number of at least 2, such as 3");
  }
  const loopWindow = duration("alerts.restart_loop_window", alerts.restart_loop_window);
  if (loopWindow < 10) {
    throw new Invalid("alerts.restart_loop_window", quoted(loopWindow), `a duration of at least "10s", such as "5m"`);
  }
  const n = config.notifications;
  if (!["info", "warning", "critical"].includes(n.min_level.toLowerCase())) {
    throw new Invalid("notifications.min_level", `"${n.min_level}"`, `"info", "warning" or "critical"`);
  }
  if (n.quiet_hours.trim() && !quietHoursValid(n.quiet_hours)) {
    throw new Invalid(
      "notifications.quiet_hours",
      `"${n.quiet_hours}"`,
      `local times "HH:MM-HH:MM", such as "22:00-07:00", or "" for none`,
    );
  }
  duration("notifications.group_window", n.group_window);
  const h = config.history;
  for (const [key, text, min] of [
    ["history.raw_retention", h.raw_retention, 600],
    ["history.rollup_retention", h.rollup_retention, 3600],
    ["history.alert_retention", h.alert_retention, 3600],
  ] as const) {
    const value = duration(key, text);
    if (value < min) {
      throw new Invalid(key, quoted(value), `a duration of at least "${formatDuration(min)}", such as "48h" or "30d"`);
    }
  }
}

export const MOCK_CONFIG_PATH = "/home/you/.config/docktray/config.toml";

/** Like the engine: `invalid config file PATH: ...` for a rule, `invalid config file PATH:\n...` for a type. */
export function validateConfig(config: Config, path = MOCK_CONFIG_PATH): Validation {
  try {
    check(config);
    return { ok: true, key: null, message: null };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, key: e.key, message: `invalid config file ${path}: ${e.message}` };
    if (e instanceof Unreadable) return { ok: false, key: e.key, message: `invalid config file ${path}:\n${e.message}` };
    throw e;
  }
}
