// A small, deterministic fleet for the mock backend: two hosts and a dozen containers whose numbers follow
// smooth waves of time, so live snapshots and get_history agree with each other.
import type { Alert } from "../bindings/Alert";
import type { Config } from "../bindings/Config";
import type { ContainerDetail } from "../bindings/ContainerDetail";
import type { ContainerState } from "../bindings/ContainerState";
import type { Health } from "../bindings/Health";
import type { PortMapping } from "../bindings/PortMapping";
import type { Series, SeriesPoint } from "../types";

export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;

export type HostSpec = {
  name: string;
  cores: number;
  memoryGb: number;
  cpu: number;
  memory: number;
  disks: { mount: string; filesystem: string; totalGb: number; percent: number }[];
  net: number;
};

export type ContainerSpec = {
  host: string;
  id: string;
  name: string;
  image: string;
  project: string | null;
  service: string | null;
  state: ContainerState;
  health: Health | null;
  exitCode: number | null;
  restartCount: number;
  ports: PortMapping[];
  /** Typical CPU (docker stats %), memory (bytes), limit (bytes or 0 = host memory), network and block (B/s). */
  cpu: number;
  memory: number;
  limit: number;
  net: number;
  block: number;
  pids: number;
  ageHours: number;
  labels: Record<string, string>;
  env: [string, string][];
  command: string[];
  logKind: "nginx" | "app" | "postgres" | "redis" | "plain";
};

export const HOSTS: HostSpec[] = [
  {
    name: "local",
    cores: 8,
    memoryGb: 31.2,
    cpu: 34,
    memory: 61,
    disks: [
      { mount: "/", filesystem: "ext4", totalGb: 468.3, percent: 82.4 },
      { mount: "/var/lib/docker", filesystem: "xfs", totalGb: 931.5, percent: 47.9 },
    ],
    net: 2.4 * MIB,
  },
  {
    name: "edge-01",
    cores: 2,
    memoryGb: 3.8,
    cpu: 18,
    memory: 54,
    disks: [{ mount: "/", filesystem: "ext4", totalGb: 77.4, percent: 43.1 }],
    net: 640 * 1024,
  },
];

const port = (container_port: number, host_port: number | null = null, protocol = "tcp"): PortMapping => ({
  container_port,
  protocol,
  host_ip: host_port === null ? null : "0.0.0.0",
  host_port,
});

const compose = (project: string, service: string, extra: Record<string, string> = {}) => ({
  "com.docker.compose.project": project,
  "com.docker.compose.service": service,
  "com.docker.compose.container-number": "1",
  "com.docker.compose.project.working_dir": `/srv/${project}`,
  ...extra,
});

let idCounter = 0;
function id(seed: string): string {
  let h = 2166136261 + idCounter++;
  let out = "";
  while (out.length < 64) {
    for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, 64);
}

type SpecInput = Omit<ContainerSpec, "id" | "labels" | "env" | "command" | "state" | "health" | "exitCode" | "restartCount" | "ports" | "project" | "service" | "block" | "pids" | "ageHours" | "limit"> &
  SpecDefaults;
type SpecDefaults = {
  state?: ContainerState;
  health?: Health | null;
  exitCode?: number | null;
  restartCount?: number;
  ports?: PortMapping[];
  project?: string | null;
  service?: string | null;
  block?: number;
  pids?: number;
  ageHours?: number;
  limit?: number;
  labels?: Record<string, string>;
  env?: [string, string][];
  command?: string[];
};

function spec(p: SpecInput): ContainerSpec {
  const labels = p.labels ?? (p.project && p.service ? compose(p.project, p.service) : {});
  return {
    state: "running",
    health: null,
    exitCode: null,
    restartCount: 0,
    ports: [],
    project: null,
    service: null,
    block: 4096,
    pids: 12,
    ageHours: 72,
    limit: 0,
    env: [["PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]],
    command: ["/docker-entrypoint.sh"],
    ...p,
    id: id(p.name),
    labels,
  };
}

export function containerSpecs(): ContainerSpec[] {
  idCounter = 0;
  return [
    spec({
      host: "local", name: "shop-web-1", image: "nginx:1.27-alpine", project: "shop", service: "web",
      health: "healthy", ports: [port(80, 8080), port(443, 8443)], cpu: 3.2, memory: 18 * MIB, net: 420 * 1024,
      command: ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"], logKind: "nginx", pids: 9,
      env: [["PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], ["NGINX_VERSION", "1.27.2"], ["NJS_VERSION", "0.8.7"]],
    }),
    spec({
      host: "local", name: "shop-api-1", image: "ghcr.io/acme/shop-api:2.4.1", project: "shop", service: "api",
      health: "healthy", ports: [port(3000)], cpu: 21, memory: 412 * MIB, limit: 1 * GIB, net: 310 * 1024,
      command: ["node", "dist/server.js"], logKind: "app", pids: 23,
      env: [["NODE_ENV", "production"], ["DATABASE_URL", "postgres://shop:s3cr3t-pa55@shop-db-1:5432/shop"], ["REDIS_URL", "redis://shop-redis-1:6379/0"], ["JWT_SECRET", "9f1c2e7a4b6d8e0f"], ["PORT", "3000"]],
    }),
    spec({
      host: "local", name: "shop-worker-1", image: "ghcr.io/acme/shop-worker:2.4.1", project: "shop", service: "worker",
      cpu: 78, memory: 690 * MIB, limit: 2 * GIB, net: 90 * 1024, block: 2.5 * MIB, command: ["node", "dist/worker.js"],
      logKind: "app", pids: 31, restartCount: 2, ageHours: 5,
      env: [["NODE_ENV", "production"], ["QUEUE_CONCURRENCY", "8"], ["DATABASE_URL", "postgres://shop:s3cr3t-pa55@shop-db-1:5432/shop"]],
    }),
    spec({
      host: "local", name: "shop-db-1", image: "postgres:16.4", project: "shop", service: "db", health: "healthy",
      ports: [port(5432)], cpu: 9.5, memory: 905 * MIB, limit: 1 * GIB, net: 150 * 1024, block: 6 * MIB,
      command: ["docker-entrypoint.sh", "postgres"], logKind: "postgres", pids: 14,
      env: [["POSTGRES_USER", "shop"], ["POSTGRES_PASSWORD", "s3cr3t-pa55"], ["PGDATA", "/var/lib/postgresql/data"]],
    }),
    spec({
      host: "local", name: "shop-redis-1", image: "redis:7.4-alpine", project: "shop", service: "redis",
      ports: [port(6379)], cpu: 1.1, memory: 9 * MIB, net: 40 * 1024, command: ["redis-server", "--save", "60", "1"],
      logKind: "redis", pids: 6,
    }),
    spec({
      host: "local", name: "monitoring-prometheus-1", image: "prom/prometheus:v2.54.1", project: "monitoring",
      service: "prometheus", ports: [port(9090, 9090)], cpu: 4.4, memory: 286 * MIB, net: 70 * 1024,
      block: 900 * 1024, command: ["/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml"], logKind: "plain",
    }),
    spec({
      host: "local", name: "monitoring-grafana-1", image: "grafana/grafana:11.2.0", project: "monitoring",
      service: "grafana", health: "healthy", ports: [port(3000, 3001)], cpu: 0.8, memory: 96 * MIB, net: 12 * 1024,
      command: ["/run.sh"], logKind: "plain",
      env: [["GF_SECURITY_ADMIN_PASSWORD", "admin-admin"], ["GF_SERVER_ROOT_URL", "http://localhost:3001"]],
    }),
    spec({
      host: "local", name: "portainer", image: "portainer/portainer-ce:2.21.0", ports: [port(9443, 9443), port(8000)],
      cpu: 0.2, memory: 31 * MIB, net: 2 * 1024, command: ["/portainer"], logKind: "plain", ageHours: 400,
    }),
    spec({
      host: "local", name: "mailpit", image: "axllent/mailpit:v1.20", state: "paused", ports: [port(8025, 8025), port(1025, 1025)],
      cpu: 0.1, memory: 14 * MIB, net: 0, command: ["/mailpit"], logKind: "plain",
    }),
    spec({
      host: "local", name: "db-migrate", image: "ghcr.io/acme/shop-api:2.4.1", state: "exited", exitCode: 1, cpu: 0,
      memory: 0, net: 0, command: ["node", "dist/migrate.js"], logKind: "app", ageHours: 2,
    }),
    spec({
      host: "edge-01", name: "proxy-traefik-1", image: "traefik:v3.1", project: "proxy", service: "traefik",
      ports: [port(80, 80), port(443, 443), port(8080)], cpu: 2.3, memory: 48 * MIB, net: 380 * 1024,
      command: ["traefik", "--providers.docker"], logKind: "plain",
    }),
    spec({
      host: "edge-01", name: "proxy-whoami-1", image: "traefik/whoami:v1.10", project: "proxy", service: "whoami",
      ports: [port(80)], cpu: 0.1, memory: 6 * MIB, net: 3 * 1024, command: ["/whoami"], logKind: "plain",
    }),
    spec({
      host: "edge-01", name: "uptime-kuma", image: "louislam/uptime-kuma:1", health: "unhealthy", ports: [port(3001, 3001)],
      cpu: 6.5, memory: 182 * MIB, net: 25 * 1024, command: ["/usr/bin/dumb-init", "--", "node", "server/server.js"],
      logKind: "app", restartCount: 1,
    }),
    spec({
      host: "edge-01", name: "backup-nightly", image: "restic/restic:0.17.1", state: "exited", exitCode: 0, cpu: 0,
      memory: 0, net: 0, command: ["restic", "backup", "/data"], logKind: "plain", ageHours: 30,
    }),
  ];
}

// Smooth, repeatable numbers: a few sines plus hashed noise per 2 s bucket.

function hash(seed: number, n: number): number {
  let h = Math.imul(seed ^ n, 2654435761) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 2246822507) >>> 0;
  h ^= h >>> 13;
  return (h >>> 0) / 4294967296;
}

export function seedOf(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

/** A value around `base` at time `t` (seconds): `swing` is the relative amplitude of the waves. */
export function wave(seed: number, t: number, base: number, swing = 0.3, noise = 0.15): number {
  const p = (seed % 1000) / 159;
  const w =
    Math.sin(t / 173 + p) * 0.5 + Math.sin(t / 41 + p * 2) * 0.3 + Math.sin(t / 1900 + p * 3) * 0.6 + Math.sin(t / 21600 + p) * 0.4;
  const r = hash(seed, Math.floor(t / 2)) - 0.5;
  return Math.max(0, base * (1 + swing * w + noise * r * 2));
}

export function defaultConfig(): Config {
  const t = (warning: number, critical: number) => ({ warning, critical, enabled: true });
  return {
    interval: "2s",
    docker: { host: "", reconcile_every: "1m" },
    logs: { ring_lines: 5000 },
    hosts: [{ name: "edge-01", destination: "ops@edge-01.example.net", identity_file: null, socket: "/var/run/docker.sock" }],
    thresholds: {
      container_cpu_percent: t(70, 90),
      container_memory_percent: t(80, 95),
      container_net_rx_mb_per_s: t(100, 500),
      container_net_tx_mb_per_s: t(100, 500),
      host_cpu_percent: t(80, 95),
      host_memory_percent: t(80, 95),
      host_disk_percent: t(80, 95),
      vps_network_quota_percent: t(80, 95),
    },
    alerts: { hold: "10s", hysteresis_percent: 10, cooldown: "15m", restart_loop_count: 3, restart_loop_window: "5m" },
    overrides: [
      { service: "db", thresholds: { container_memory_percent: { warning: 90, critical: 98, enabled: null } } },
      { label: "com.example.role=batch", thresholds: { container_cpu_percent: { warning: null, critical: null, enabled: false } } },
    ],
    notifications: {
      enabled: true, min_level: "warning", quiet_hours: "22:00-07:00", group_window: "1.5s",
      webhooks: [
        {
          name: "ops", url: "https://hooks.example.net/docktray", headers: {}, sign: true, enabled: true,
          min_level: "warning", quiet_hours: "", group_window: "10s", retries: 5, timeout: "10s",
        },
      ],
      ntfy: {
        server: "https://ntfy.sh", topic: "", token: false, enabled: true, min_level: "warning", quiet_hours: "",
        group_window: "10s", retries: 5, timeout: "10s",
      },
      email: {
        server: "", port: 0, security: "starttls", ca_file: "", username: "", from: "", to: [], enabled: true,
        min_level: "warning", quiet_hours: "", group_window: "1m", retries: 5, timeout: "30s",
      },
    },
    history: { enabled: true, path: "", raw_retention: "48h", rollup_retention: "30d", alert_retention: "30d", event_retention: "30d", audit_retention: "365d" },
    desktop: { start_at_login: false },
    webdock: [],
    services: { label_prefix: "docktray." },
    log: { file: "", max_size_mb: 10, keep: 3 },
    caddy: { admin_url: "http://localhost:2019", server: "", http_server: "", check_every: "10s", host_addresses: {} },
    forecasts: {
      every: "5m",
      disk: { enabled: true, warning: "7d", critical: "1d", window: "1d", min_fit: 0.6, min_data: "2h" },
      memory: { enabled: true, warning: "1d", critical: "2h", window: "1d", min_fit: 0.6, min_data: "2h" },
      network_quota: { enabled: true, warning: "7d", critical: "2d", window: "1d", min_fit: 0.6, min_data: "2h" },
    },
    log_alerts: [
      { name: "db errors", service: "db", pattern: "ERROR|FATAL", count: 10, window: "5m", level: "warning", clear_after: "10m" },
    ],
    api: {
      enabled: false, listen: "127.0.0.1:7583", allow_remote: false, allow_plain_http: false, tls_cert: "", tls_key: "",
      allowed_hosts: [], allowed_origins: [], allow_actions: false, max_connections: 64, request_timeout: "30s",
      client_queue: 1024,
      base_path: "",
    },
  };
}

let alertCounter = 0;

export function makeAlert(fields: Omit<Alert, "id" | "top" | "resolved_at" | "acknowledged" | "detail"> & Partial<Alert>): Alert {
  const started = Date.parse(fields.started_at);
  return {
    id: started * 1024 + (alertCounter++ % 1024),
    detail: null,
    resolved_at: null,
    acknowledged: false,
    top: [],
    ...fields,
  };
}

/** What the detail view shows of a container beside its snapshot (`info`): command, mounts, health checks... */
export function containerDetail(s: ContainerSpec, info: ContainerDetail["info"], now: number): ContainerDetail {
  const check = (secondsAgo: number, exit: number, output: string) => ({
    start: new Date(now - secondsAgo * 1000).toISOString(),
    end: new Date(now - secondsAgo * 1000 + 84).toISOString(),
    exit_code: exit,
    output,
  });
  const failing = s.health === "unhealthy";
  return {
    info,
    command: s.command,
    working_dir: s.project ? "/app" : null,
    hostname: s.id.slice(0, 12),
    env: s.env,
    mounts: s.project
      ? [
          { kind: "bind", source: `/srv/${s.project}/config`, destination: "/etc/app", read_only: true },
          { kind: "volume", source: `${s.project}_${s.service ?? "data"}-data`, destination: "/data", read_only: false },
        ]
      : [{ kind: "volume", source: `${s.name}-data`, destination: "/data", read_only: false }],
    networks: [
      { name: s.project ? `${s.project}_default` : "bridge", ip_address: `172.18.0.${(seedOf(s.id) % 200) + 2}`, gateway: "172.18.0.1", mac_address: "02:42:ac:12:00:05" },
    ],
    restart_policy: s.project ? "unless-stopped" : "no",
    health_log: s.health
      ? [30, 60, 90, 120, 150].reverse().map((ago) =>
          failing ? check(ago, 1, "curl: (7) Failed to connect to localhost port 3001: Connection refused\n") : check(ago, 0, "ok\n"),
        )
      : [],
  };
}

/** A Webdock VPS's recorded metrics as Webdock answers them: a few points each, at its own steps. */
export function vpsHistory(now: number) {
  const points = (values: number[], stepS: number) =>
    values.map((value, i) => ({ at: new Date(now - (values.length - 1 - i) * stepS * 1000).toISOString(), value }));
  return {
    cpu_percent: points([10, 35, 50, 20], 1800),
    memory_gb: points([1, 1.5], 3600),
    memory_percent: points([50, 75], 3600),
    disk_gb: points([10, 10.5], 86400),
    disk_allowed_gb: 40,
    ingress_mib: points([100, 200], 86400),
    egress_mib: points([50, 80], 86400),
    network_used_gb: 120,
    network_allowed_gb: 1000,
    processes: points([90, 97], 1800),
  };
}

/** A series of `value` (t in seconds) from `from` to `until`: raw samples every `step` seconds, or with a step of a
 * minute and more, each point the min, average and max of five samples in its minute, as the history keeps them. */
export function sampled(value: (t: number) => number, from: number, until: number, step: number): Series {
  const minute = step >= 60;
  const points: SeriesPoint[] = [];
  for (let t = Math.ceil(from / step) * step; t <= until; t += step) {
    if (minute) {
      const samples = [0, 12, 24, 36, 48].map((o) => value(t + o));
      const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
      points.push({ at: new Date(t * 1000).toISOString(), min: Math.min(...samples), avg, max: Math.max(...samples) });
    } else {
      const v = value(t);
      points.push({ at: new Date(t * 1000).toISOString(), min: v, avg: v, max: v });
    }
  }
  return { resolution: minute ? "minute" : "raw", points };
}
