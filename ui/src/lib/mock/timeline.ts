// The mock backend's timeline: a night of events generated from the fleet (restarts, a crash loop, an OOM
// kill, image pulls), audit entries of the window's actions as they happen, and exports kept in memory (the
// tests read back what was "written").
import type { Action } from "../bindings/Action";
import type { ExportKind } from "../bindings/ExportKind";
import type { TimelineRow } from "../bindings/TimelineRow";
import type { CommandName, Commands } from "../ipc";
import { matches } from "../timeline";
import type { ContainerSpec } from "./data";
import { NOT_MINE } from "./workbench";

const COLUMNS = ["time", "host", "container", "kind", "object", "id", "exit_code", "oom", "signal", "health", "source", "actor", "action", "result", "error"] as const;

function blank(time: number, host: string): TimelineRow {
  return {
    time: new Date(time).toISOString(),
    host,
    container: null,
    kind: "",
    object: null,
    id: null,
    exit_code: null,
    oom: null,
    signal: null,
    health: null,
    source: null,
    actor: null,
    action: null,
    result: null,
    error: null,
  };
}

/** CSV as the shell writes it (quoted where needed). */
export function toCsv(rows: TimelineRow[]): string {
  const cell = (v: unknown) => {
    const text = v === null || v === undefined ? "" : String(v);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [COLUMNS.join(","), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

export class MockTimeline {
  rows: TimelineRow[] = [];
  /** What the exports wrote, by path. */
  readonly files = new Map<string, string>();

  constructor(
    private readonly specs: () => ContainerSpec[],
    private readonly now: () => number,
  ) {
    this.seed();
  }

  private seed(): void {
    const now = this.now();
    const specs = this.specs();
    for (const [i, s] of specs.entries()) {
      const t = now - (2 + (i % 9)) * 3600_000 - i * 61_000;
      this.container(s, t, "create");
      this.container(s, t + 800, "start");
      if (s.state === "exited") {
        this.container(s, t + 1800_000, "die", { exit_code: s.exitCode ?? 1, oom: false });
      }
      if (s.restartCount > 0) {
        for (let k = 0; k < Math.min(3, s.restartCount); k++) {
          const at = now - (40 - k * 9) * 60_000;
          this.container(s, at, "die", { exit_code: 1, oom: false });
          this.container(s, at + 1000, "start");
        }
      }
    }
    const worker = specs.find((s) => s.limit > 0) ?? specs[0];
    if (worker) {
      const at = now - 25 * 60_000;
      this.container(worker, at, "oom");
      this.container(worker, at + 20, "die", { exit_code: 137, oom: true });
      this.container(worker, at + 1200, "start");
    }
    const other = specs[1] ?? specs[0];
    if (other) {
      const at = now - 70 * 60_000;
      this.container(other, at, "kill", { signal: "9" });
      this.container(other, at + 30, "die", { exit_code: 137, oom: false });
      this.audit(other, "start", null, at + 60_000);
      this.container(other, at + 60_200, "start");
    }
    const host = specs[0]?.host ?? "local";
    this.rows.push({ ...blank(now - 5 * 3600_000, host), kind: "image_pull", object: "nginx:1.27", id: "nginx:1.27" });
    this.rows.push({ ...blank(now - 4 * 3600_000, host), kind: "volume_create", object: "shop_data", id: "shop_data" });
    this.rows.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  }

  /** Adds a container event; returns it. */
  container(spec: ContainerSpec, time: number, kind: string, extra: Partial<TimelineRow> = {}): TimelineRow {
    const row = { ...blank(time, spec.host), container: spec.name, kind, id: spec.id, ...extra };
    this.rows.push(row);
    return row;
  }

  /** Adds an audit entry of the window; returns it. */
  audit(spec: ContainerSpec, action: Action | string, error: string | null, time = this.now()): TimelineRow {
    const row = {
      ...blank(time, spec.host),
      container: spec.name,
      kind: "audit",
      source: "window",
      action,
      result: error === null ? "ok" : "error",
      error,
    };
    this.rows.push(row);
    return row;
  }

  /** The events an action makes the engine send. */
  actionEvents(spec: ContainerSpec, action: Action): TimelineRow[] {
    const t = this.now();
    switch (action) {
      case "stop":
        return [this.container(spec, t, "kill", { signal: "15" }), this.container(spec, t + 5, "die", { exit_code: 0, oom: false }), this.container(spec, t + 6, "stop")];
      case "restart":
        return [
          this.container(spec, t, "kill", { signal: "15" }),
          this.container(spec, t + 5, "die", { exit_code: 0, oom: false }),
          this.container(spec, t + 10, "start"),
          this.container(spec, t + 11, "restart"),
        ];
      default:
        return [this.container(spec, t, action)];
    }
  }

  private select(filter: Commands["list_timeline"]["args"]["filter"], cap: number | null): TimelineRow[] {
    const rows = this.rows.filter((r) => matches(r, filter)).sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    const limit = filter.limit ?? cap;
    return limit === null ? rows : rows.slice(-limit);
  }

  private write(path: string, _kind: ExportKind, text: string, rows: number) {
    if (!path.startsWith("/")) throw `"${path}" is not a full path: give the folder and the file name`;
    if (this.files.has(path)) throw `${path} already exists: choose another name (an export never replaces a file)`;
    this.files.set(path, text);
    return { path, rows };
  }

  answer(command: CommandName, raw: unknown): unknown {
    switch (command) {
      case "list_timeline": {
        const { filter } = raw as Commands["list_timeline"]["args"];
        return this.select(filter, 2000);
      }
      case "default_export_path": {
        const { stem, kind } = raw as Commands["default_export_path"]["args"];
        return `/home/demo/Downloads/docktray-${stem.replace(/[^A-Za-z0-9_-]/g, "-")}.${kind}`;
      }
      case "export_timeline": {
        const { filter, kind, path } = raw as Commands["export_timeline"]["args"];
        const rows = this.select(filter, null);
        const text = kind === "csv" ? toCsv(rows) : rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
        return this.write(path, kind, text, rows.length);
      }
      case "export_series": {
        const { metrics, since, until, kind, path } = raw as Commands["export_series"]["args"];
        const step = 60_000;
        const lines: string[] = kind === "csv" ? [metrics.length > 1 ? "at,min,avg,max,metric" : "at,min,avg,max"] : [];
        for (const metric of metrics) {
          for (let t = Date.parse(since); t < Date.parse(until); t += step) {
            const v = Math.round(50 + 40 * Math.sin(t / 600_000));
            const at = new Date(t).toISOString();
            if (kind === "csv") lines.push(`${at},${v},${v},${v}${metrics.length > 1 ? `,${metric}` : ""}`);
            else lines.push(JSON.stringify({ at, min: v, avg: v, max: v, ...(metrics.length > 1 ? { metric } : {}) }));
          }
        }
        const rows = kind === "csv" ? lines.length - 1 : lines.length;
        return this.write(path, kind, lines.join("\n") + "\n", rows);
      }
      default:
        return NOT_MINE;
    }
  }
}
