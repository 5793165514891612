// The timeline's words and marks: what a row says beyond its kind (exit code, OOM, signal, who acted and how
// it ended), how serious it looks, and the filter the window, the mock and the exports share.
import type { TimelineFilter } from "./bindings/TimelineFilter";
import type { TimelineRow } from "./bindings/TimelineRow";

export type RowTone = "critical" | "warning" | "ok" | "info";

/** Kinds offered in the kind filter (the CLI's `--kind` values). */
export const KIND_CHOICES: { value: string; label: string }[] = [
  { value: "", label: "All kinds" },
  { value: "die", label: "Died" },
  { value: "oom", label: "Out of memory" },
  { value: "kill", label: "Killed (signal)" },
  { value: "restart", label: "Restarted" },
  { value: "start", label: "Started" },
  { value: "stop", label: "Stopped" },
  { value: "health_status", label: "Health changes" },
  { value: "create", label: "Created" },
  { value: "destroy", label: "Removed" },
  { value: "pause", label: "Paused" },
  { value: "unpause", label: "Unpaused" },
  { value: "image", label: "Image events" },
  { value: "volume", label: "Volume events" },
  { value: "network", label: "Network events" },
  { value: "audit", label: "Actions (audit)" },
];

export function emptyFilter(): TimelineFilter {
  return { since: null, until: null, host: null, container: null, kind: null, text: null, audit_only: false, limit: null };
}

/** Whether a row is an OOM kill: the `oom` event, or a die the OOM killer caused. */
export function isOom(row: TimelineRow): boolean {
  return row.kind === "oom" || (row.kind === "die" && row.oom === true);
}

export function tone(row: TimelineRow): RowTone {
  if (row.kind === "audit") return row.result === "ok" ? "info" : "critical";
  if (isOom(row)) return "critical";
  if (row.kind === "die") return row.exit_code !== null && row.exit_code !== 0 ? "critical" : "warning";
  if (row.kind === "kill" || row.kind === "stop") return "warning";
  if (row.kind === "health_status") return row.health === "unhealthy" ? "critical" : row.health === "healthy" ? "ok" : "info";
  if (row.kind === "start" || row.kind === "restart" || row.kind === "unpause") return "ok";
  return "info";
}

/** The kind in words: "died", "image pull", "restart (by window)". */
export function kindLabel(row: TimelineRow): string {
  if (row.kind === "audit") return row.action ? `action: ${row.action.replace(/_/g, " ")}` : "action";
  if (row.kind === "die") return "died";
  if (row.kind === "oom") return "out of memory";
  if (row.kind === "health_status") return "health";
  return row.kind.replace(/_/g, " ");
}

/** What matters beyond the kind, as `docktray events` prints it. */
export function detail(row: TimelineRow): string {
  if (row.kind === "audit") {
    const who = row.actor ? `${row.source} (${row.actor})` : (row.source ?? "?");
    return row.result === "ok" ? `by ${who}: ok` : `by ${who}: failed: ${row.error ?? "no reason given"}`;
  }
  const parts: string[] = [];
  if (row.exit_code !== null) parts.push(`exit code ${row.exit_code}`);
  if (row.kind === "die" && row.oom === true) parts.push("OUT OF MEMORY");
  if (row.signal) parts.push(`signal ${row.signal}`);
  if (row.health) parts.push(row.health);
  return parts.join(", ");
}

/** The container, or the object (image, volume, network, project) a row is about. */
export function subject(row: TimelineRow): string {
  return row.container ?? row.object ?? "–";
}

/** A row's identity in lists (rows carry no id: time, host, kind, subject and action tell them apart). */
export function rowKey(row: TimelineRow): string {
  return `${row.time}|${row.host}|${row.kind}|${row.id ?? subject(row)}|${row.action ?? ""}`;
}

/** Whether a row passes a filter: the same rules as the history's query (the mock, and live rows). */
export function matches(row: TimelineRow, filter: TimelineFilter): boolean {
  const t = Date.parse(row.time);
  if (filter.since && t < Date.parse(filter.since)) return false;
  if (filter.until && t >= Date.parse(filter.until)) return false;
  if (filter.host && row.host !== filter.host) return false;
  const audit = row.kind === "audit";
  if (filter.audit_only && !audit) return false;
  const kind = filter.kind?.trim();
  if (kind) {
    if (kind === "audit") {
      if (!audit) return false;
    } else if (audit || (row.kind !== kind && !row.kind.startsWith(`${kind}_`) && !(kind === "container" && !row.kind.includes("_")))) {
      return false;
    }
  }
  const container = filter.container?.trim().replace(/^\//, "");
  if (container) {
    const byId = !audit && container.length >= 4 && (row.id ?? "").startsWith(container);
    if (row.container !== container && !byId) return false;
  }
  const words = (filter.text ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length) {
    const hay = [row.container, row.object, row.kind, row.id, row.exit_code, row.signal, row.health, row.host, row.source, row.actor, row.action, row.result, row.error]
      .filter((v) => v !== null && v !== undefined)
      .join(" ")
      .toLowerCase();
    if (!words.every((w) => hay.includes(w))) return false;
  }
  return true;
}
