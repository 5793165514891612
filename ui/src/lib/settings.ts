// What the settings form knows about the configuration: the threshold metrics and how a form's state becomes
// the Config sent to validate_settings and save_settings (the engine does all the checking).
import type { Config } from "./bindings/Config";

export const THRESHOLD_METRICS = [
  { key: "container_cpu_percent", label: "Container CPU", unit: "%", hint: "as docker stats: 100 per busy core" },
  { key: "container_memory_percent", label: "Container memory", unit: "%", hint: "of its limit, or of the host's memory" },
  { key: "container_net_rx_mb_per_s", label: "Container network in", unit: "MB/s", hint: "" },
  { key: "container_net_tx_mb_per_s", label: "Container network out", unit: "MB/s", hint: "" },
  { key: "host_cpu_percent", label: "Host CPU", unit: "%", hint: "" },
  { key: "host_memory_percent", label: "Host memory", unit: "%", hint: "" },
  { key: "host_disk_percent", label: "Host disk", unit: "%", hint: "each mount" },
  { key: "vps_network_quota_percent", label: "VPS network quota", unit: "%", hint: "Webdock traffic this month" },
] as const;

export type ThresholdKey = (typeof THRESHOLD_METRICS)[number]["key"];

/**
 * The engine's message without its "invalid config file PATH:" preamble: the page already names the file, and
 * the rest (key, bad value, expected form) is what belongs next to the field.
 */
export function fieldMessage(message: string): string {
  return message.replace(/^invalid config file .*?:(\s*\n|\s)/s, "").trim();
}

/** A copy fit to send: optional durations left empty are removed rather than sent as "". */
export function cleaned(config: Config): Config {
  const copy = structuredClone(config);
  for (const { key } of THRESHOLD_METRICS) {
    const t = copy.thresholds[key];
    if (t.hold !== undefined && t.hold.trim() === "") delete t.hold;
  }
  for (const o of copy.overrides) {
    for (const t of Object.values(o.thresholds)) {
      if (t.hold !== undefined && t.hold.trim() === "") delete t.hold;
      if (typeof t.warning !== "number" || !Number.isFinite(t.warning)) t.warning = null;
      if (typeof t.critical !== "number" || !Number.isFinite(t.critical)) t.critical = null;
    }
  }
  copy.hosts = copy.hosts.map((h) => ({ ...h, identity_file: h.identity_file?.trim() ? h.identity_file : null }));
  // Log alerts: an empty "clear after" means the window; an empty name or selector is left out.
  copy.log_alerts = (copy.log_alerts ?? []).map((rule) => {
    const out = { ...rule };
    if (out.clear_after !== undefined && out.clear_after.trim() === "") delete out.clear_after;
    if (out.name !== undefined && out.name.trim() === "") delete out.name;
    for (const s of ["container", "service", "label", "host"] as const) if (out[s] == null) delete out[s];
    return out;
  });
  return copy;
}
