// The mock's alerts at start: four active ones (one acknowledged) and a resolved history over the last days.
import type { Alert } from "../bindings/Alert";
import { type ContainerSpec, makeAlert } from "./data";

/** The alerts of a fleet started at `started` (ms). */
export function initialAlerts(specs: ContainerSpec[], started: number): Alert[] {
  const at = (minutesAgo: number) => new Date(started - minutesAgo * 60_000).toISOString();
  const target = (name: string) => {
    const s = specs.find((c) => c.name === name);
    return { kind: "container" as const, host: s?.host ?? "local", id: s?.id ?? name, name };
  };
  const host = (name: string) => ({ kind: "host" as const, host: name, id: name, name });
  const active: Alert[] = [
    makeAlert({ target: target("shop-worker-1"), metric: "container_cpu_percent", level: "warning", value: 78.3, threshold: 70, unit: "%", message: "shop-worker-1 CPU at 78.3 % (warning above 70 %)", started_at: at(12) }),
    makeAlert({ target: host("local"), metric: "host_disk_percent", detail: "/", level: "warning", value: 82.4, threshold: 80, unit: "%", message: "local disk / at 82.4 % (warning above 80 %)", started_at: at(95), top: [["monitoring-prometheus-1", 41.2], ["shop-db-1", 18.9]] }),
    makeAlert({ target: target("uptime-kuma"), metric: "unhealthy", level: "critical", value: null, threshold: null, unit: "", message: "uptime-kuma is unhealthy: healthcheck exited 1 three times", started_at: at(34), acknowledged: true }),
    makeAlert({ target: target("db-migrate"), metric: "exited", level: "warning", value: 1, threshold: null, unit: "", message: "db-migrate exited with code 1", started_at: at(40) }),
  ];
  const past = (minutesAgo: number, lasted: number, fields: Parameters<typeof makeAlert>[0]) =>
    makeAlert({ ...fields, started_at: at(minutesAgo), resolved_at: at(minutesAgo - lasted) });
  const history: Alert[] = [
    past(180, 6, { target: target("shop-api-1"), metric: "container_memory_percent", level: "warning", value: 84.1, threshold: 80, unit: "%", message: "shop-api-1 memory at 84.1 % (warning above 80 %)", started_at: "" }),
    past(420, 2, { target: host("edge-01"), metric: "host_cpu_percent", level: "critical", value: 97.2, threshold: 95, unit: "%", message: "edge-01 CPU at 97.2 % (critical above 95 %)", started_at: "", top: [["uptime-kuma", 61.3]] }),
    past(600, 1, { target: target("shop-worker-1"), metric: "restart_loop", level: "critical", value: 3, threshold: 3, unit: "restarts", message: "shop-worker-1 restarted 3 times in 5m", started_at: "" }),
    past(1440, 30, { target: host("edge-01"), metric: "unreachable", level: "critical", value: null, threshold: null, unit: "", message: "edge-01 is unreachable: ssh: connect to host edge-01.example.net port 22: Connection timed out", started_at: "" }),
    past(2900, 0, { target: target("backup-nightly"), metric: "exited", level: "info", value: 0, threshold: null, unit: "", message: "backup-nightly exited with code 0", started_at: "" }),
    past(4000, 14, { target: target("shop-db-1"), metric: "oom_killed", level: "critical", value: null, threshold: null, unit: "", message: "shop-db-1 was killed: out of memory (limit 1 GiB)", started_at: "" }),
  ];
  return [...active, ...history];
}
