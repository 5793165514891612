// The mock backend: answers every command of docs/ipc.md and pushes the events, from the generated fleet in
// data.ts. Used by `npm run dev`/`vite preview` in a browser and by the tests (with `autoTick: false`, the
// tests push events themselves).
import type { Action } from "../bindings/Action";
import type { Alert } from "../bindings/Alert";
import type { AlertTransition } from "../bindings/AlertTransition";
import type { Config } from "../bindings/Config";
import type { ContainerDetail } from "../bindings/ContainerDetail";
import type { ContainerSnapshot } from "../bindings/ContainerSnapshot";
import type { ContainerStats } from "../bindings/ContainerStats";
import type { Level } from "../bindings/Level";
import type { LogLine } from "../bindings/LogLine";
import type { OverallLevel } from "../bindings/OverallLevel";
import type { ServerStats } from "../bindings/ServerStats";
import type { Snapshot } from "../bindings/Snapshot";
import type { SourceStatus } from "../bindings/SourceStatus";
import type { Backend, CommandName, Commands, EventName, Events, ExecHandlers, ExecRequest, ExecSession, Unlisten } from "../ipc";
import type { HistoryRange, HistoryTarget, Series } from "../types";
import { LEVEL_RANK } from "../util/levels";
import { type ContainerSpec, GIB, HOSTS, type HostSpec, containerDetail, containerSpecs, sampled, seedOf, vpsHistory, wave } from "./data";
import { initialAlerts } from "./alerts";
import { mockChannels, mockForecasts } from "./foresight";
import { logLine } from "./logs";
import { mockServices } from "./services";
import { MockSettings } from "./settings";
import { MockTimeline } from "./timeline";
import { MockWorkbench, NOT_MINE } from "./workbench";

export { MOCK_HOST_KEY, MOCK_WEBDOCK_TOKEN } from "./settings";

export type MockOptions = {
  /** Push snapshots every interval and log lines while subscribed (the browser); off in tests. */
  autoTick?: boolean;
  /** The clock, in milliseconds. */
  now?: () => number;
  /** Lines of history each followed container has. */
  logHistory?: number;
  /** Answer delay in milliseconds, to look like IPC. */
  latency?: number;
};

type Handler = (payload: never) => void;

const RANGE_SECONDS: Record<HistoryRange, number> = { "15m": 900, "1h": 3600, "24h": 86400, "7d": 604800 };
const SAMPLE_S = 2;

type Subscription = { spec: ContainerSpec; next: number };

export class MockBackend implements Backend {
  readonly calls: { command: CommandName; args: unknown }[] = [];
  specs: ContainerSpec[] = containerSpecs();
  alerts: Alert[];
  /** The settings, Webdock tokens, SSH host keys and notification channels (settings.ts). */
  readonly settings = new MockSettings(
    () => this.now(),
    () => this.tick(),
  );
  /** SSH hosts: source fields that differ from "up" (tests and the dev console set them), hosts retried, keys trusted. */
  readonly sourcePatches = new Map<string, Partial<SourceStatus>>();
  readonly retried: string[] = [];
  notificationsPaused = false;
  /** What take_route answers once. */
  route: string | null = null;
  /** When set, container_action rejects with this message. */
  failActions: string | null = null;
  /** When set, subscribe_logs answers with these lines as history instead of generated ones (tests). */
  logHistoryOverride: LogLine[] | null = null;
  /** Caddy away (tests and the dev console set it); URLs opened and Caddy retries asked for. */
  caddyDown = false;
  readonly opened: string[] = [];
  caddyRetries = 0;
  get config(): Config {
    return this.settings.config;
  }
  set config(config: Config) {
    this.settings.config = config;
  }
  get trusted(): Set<string> {
    return this.settings.trusted;
  }
  get webdockTokens(): Set<string> {
    return this.settings.webdockTokens;
  }
  get failingChannels(): Map<string, string> {
    return this.settings.failingChannels;
  }
  get channelTests(): Map<string, number> {
    return this.settings.channelTests;
  }

  private readonly listeners = new Map<EventName, Set<Handler>>();
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly logCursor = new Map<string, number>();
  private nextSubscription = 1;
  private readonly now: () => number;
  private readonly started: number;
  private readonly startedAt = new Map<string, number>();
  private readonly finishedAt = new Map<string, number>();
  private timers: ReturnType<typeof setInterval>[] = [];
  private readonly logHistory: number;
  private readonly latency: number;

  constructor(options: MockOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.logHistory = options.logHistory ?? 3000;
    this.latency = options.latency ?? 0;
    this.started = this.now();
    this.timeline = new MockTimeline(
      () => this.specs,
      () => this.now(),
    );
    for (const s of this.specs) {
      this.startedAt.set(s.id, this.started - s.ageHours * 3600_000);
      if (s.state === "exited") this.finishedAt.set(s.id, this.started - (s.ageHours / 3) * 3600_000);
    }
    this.alerts = initialAlerts(this.specs, this.started);
    if (options.autoTick) this.startTicking();
  }

  // Backend

  async invoke<K extends CommandName>(command: K, args: Commands[K]["args"]): Promise<Commands[K]["result"]> {
    this.calls.push({ command, args });
    if (this.latency) await new Promise((r) => setTimeout(r, this.latency));
    return this.answer(command, args) as Promise<Commands[K]["result"]>;
  }

  /** Images, volumes, networks, disk usage, stacks and terminals. */
  readonly workbench = new MockWorkbench(
    () => this.specs,
    () => this.now(),
    (spec, action) => this.act(spec, action),
  );

  /** Engine events and audit entries, and the window's exports (made once the clock is set). */
  readonly timeline: MockTimeline;

  async exec(request: ExecRequest, handlers: ExecHandlers): Promise<ExecSession> {
    this.calls.push({ command: "exec_start" as CommandName, args: request });
    return this.workbench.exec(request, handlers, this.findSpec(request.container));
  }

  async listen<E extends EventName>(event: E, handler: (payload: Events[E]) => void): Promise<Unlisten> {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(handler as Handler);
    return () => set.delete(handler as Handler);
  }

  /** Delivers an event to the window's listeners. */
  emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const handler of [...(this.listeners.get(event) ?? [])]) (handler as (p: Events[E]) => void)(payload);
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  /** Pushes a snapshot now. */
  tick(): Snapshot {
    const snapshot = this.snapshot();
    this.emit("snapshot", snapshot);
    return snapshot;
  }

  /** Pushes new lines to every subscription (or `lines` to one). */
  pushLogs(count = 3): void {
    for (const [subscription, sub] of this.subscriptions) {
      const lines = this.nextLines(sub, count);
      if (lines.length) this.emit("logs", { subscription, lines });
    }
  }

  /** Pushes given lines to one subscription. */
  emitLogs(subscription: number, lines: LogLine[]): void {
    this.emit("logs", { subscription, lines });
  }

  activeSubscriptions(): number[] {
    return [...this.subscriptions.keys()];
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  findSpec(ref: string): ContainerSpec | undefined {
    return (
      this.specs.find((s) => s.id === ref || s.name === ref || `${s.host}/${s.id}` === ref) ??
      (ref.length >= 4 ? this.specs.find((s) => s.id.startsWith(ref)) : undefined)
    );
  }

  // Commands

  private async answer(command: CommandName, raw: unknown): Promise<unknown> {
    switch (command) {
      case "get_snapshot":
        return this.snapshot();
      case "get_container_detail": {
        const { container } = raw as Commands["get_container_detail"]["args"];
        return this.detail(this.require(container));
      }
      case "container_action": {
        const { container, action } = raw as Commands["container_action"]["args"];
        const spec = this.require(container);
        try {
          this.act(spec, action);
        } catch (error) {
          this.emit("timeline", [this.timeline.audit(spec, action, String(error))]);
          throw error;
        }
        this.emit("timeline", [this.timeline.audit(spec, action, null), ...this.timeline.actionEvents(spec, action)]);
        return null;
      }
      case "get_history": {
        const { target, metric, range } = raw as Commands["get_history"]["args"];
        return this.history(target, metric, range);
      }
      case "subscribe_logs": {
        const { container, tail } = raw as Commands["subscribe_logs"]["args"];
        const spec = this.require(container);
        const subscription = this.nextSubscription++;
        if (this.logHistoryOverride) {
          const lines = this.logHistoryOverride;
          this.subscriptions.set(subscription, { spec, next: (lines[lines.length - 1]?.seq ?? -1) + 1 });
          return { subscription, history: tail === null ? lines : lines.slice(-tail) };
        }
        const end = this.logCursor.get(spec.id) ?? this.logHistory;
        const first = tail === null ? Math.max(0, end - this.logHistory) : Math.max(0, end - tail);
        const history: LogLine[] = [];
        const now = this.now();
        for (let seq = first; seq < end; seq++) history.push(logLine(spec, seq, new Date(now - (end - seq) * 1700)));
        this.logCursor.set(spec.id, end);
        this.subscriptions.set(subscription, { spec, next: end });
        return { subscription, history };
      }
      case "unsubscribe_logs": {
        const { subscription } = raw as Commands["unsubscribe_logs"]["args"];
        this.subscriptions.delete(subscription);
        return null;
      }
      case "list_alerts": {
        const { activeOnly, level, since } = raw as Commands["list_alerts"]["args"];
        const from = since ? Date.parse(since) : -Infinity;
        return this.alerts
          .filter((a) => (!activeOnly || a.resolved_at === null) && (!level || LEVEL_RANK[a.level] >= LEVEL_RANK[level]))
          .filter((a) => Date.parse(a.started_at) >= from)
          .sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at));
      }
      case "acknowledge_alert": {
        const { id } = raw as Commands["acknowledge_alert"]["args"];
        const alert = this.alerts.find((a) => a.id === id);
        if (!alert || alert.resolved_at !== null || alert.acknowledged) return false;
        alert.acknowledged = true;
        this.transition("acknowledged", alert, alert.level);
        return true;
      }
      case "set_notifications_paused": {
        const { paused } = raw as Commands["set_notifications_paused"]["args"];
        this.notificationsPaused = paused;
        return null;
      }
      case "take_route": {
        const route = this.route;
        this.route = null;
        return route;
      }
      case "open_url": {
        const { url } = raw as Commands["open_url"]["args"];
        if (!/^https?:\/\//.test(url)) throw `not opening ${url}: only http and https addresses are opened`;
        this.opened.push(url);
        return null;
      }
      case "retry_caddy": {
        this.caddyRetries += 1;
        this.caddyDown = false;
        this.tick();
        return null;
      }
      case "retry_host": {
        const { name } = raw as Commands["retry_host"]["args"];
        if (!HOSTS.some((h) => h.name === name) && !this.config.hosts.some((h) => h.name === name)) {
          throw `${name} is not a configured host (see the SSH hosts settings)`;
        }
        this.retried.push(name);
        if (this.sourcePatches.has(name)) this.sourcePatches.set(name, { ...this.sourcePatches.get(name), state: "connecting", next_retry: null });
        this.tick();
        return null;
      }
      case "get_vps_history":
        return vpsHistory(this.now());
      default: {
        const fromSettings = this.settings.answer(command, raw);
        if (fromSettings !== NOT_MINE) return fromSettings;
        const fromTimeline = this.timeline.answer(command, raw);
        if (fromTimeline !== NOT_MINE) return fromTimeline;
        const answer = this.workbench.answer(command, raw);
        if (answer === NOT_MINE) throw `unknown command ${command}`;
        if (command === "stack_action") this.tick();
        return answer;
      }
    }
  }

  private require(ref: string): ContainerSpec {
    const spec = this.findSpec(ref);
    if (!spec) throw `no such container: ${ref}`;
    return spec;
  }

  private act(spec: ContainerSpec, action: Action): void {
    if (this.failActions) throw this.failActions;
    const now = this.now();
    const running = spec.state === "running";
    switch (action) {
      case "start":
        if (running) throw `container ${spec.name} is already running`;
        if (spec.state === "paused") throw `cannot start paused container ${spec.name}, try unpause instead`;
        spec.state = "running";
        spec.exitCode = null;
        this.startedAt.set(spec.id, now);
        if (spec.cpu === 0) Object.assign(spec, { cpu: 2.5, memory: 60 * 1024 * 1024, net: 8 * 1024 });
        break;
      case "stop":
        if (!running && spec.state !== "paused") throw `container ${spec.name} is not running`;
        spec.state = "exited";
        spec.exitCode = 0;
        this.finishedAt.set(spec.id, now);
        break;
      case "restart":
        spec.state = "running";
        spec.exitCode = null;
        spec.restartCount += 1;
        this.startedAt.set(spec.id, now);
        break;
      case "pause":
        if (!running) throw `container ${spec.name} is not running`;
        spec.state = "paused";
        break;
      case "unpause":
        if (spec.state !== "paused") throw `container ${spec.name} is not paused`;
        spec.state = "running";
        break;
    }
    setTimeout(() => this.tick(), 250);
  }

  // Building the answers

  private transition(kind: AlertTransition["kind"], alert: Alert, previous: Level | null): void {
    this.emit("alert", { kind, alert: structuredClone(alert), previous_level: previous, at: new Date(this.now()).toISOString() });
    this.tick();
  }

  private overall(active: Alert[], sources: SourceStatus[]): OverallLevel {
    if (sources.length && sources.every((s) => s.state === "unreachable")) return "unreachable";
    let worst = 0;
    for (const a of active) if (!a.acknowledged) worst = Math.max(worst, LEVEL_RANK[a.level]);
    return worst >= 3 ? "critical" : worst === 2 ? "warning" : "ok";
  }

  snapshot(): Snapshot {
    const now = this.now();
    const t = now / 1000;
    const active = this.alerts
      .filter((a) => a.resolved_at === null)
      .sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
    const sources: SourceStatus[] = HOSTS.flatMap((h) => [
      {
        name: h.name,
        kind: "docker",
        endpoint: h.name === "local" ? "unix:///var/run/docker.sock" : `ssh://ops@${h.name}.example.net`,
        state: "up",
        reason: null,
        consecutive_failures: 0,
        next_retry: null,
        // The remote host runs Podman, so the window shows both kinds of engine.
        engine_version: h.name === "local" ? "27.3.1" : "4.9.3",
        api_version: h.name === "local" ? "1.47" : "1.41",
        stats_method: h.name === "local" ? "cgroup" : "api",
        since: new Date(this.started - 86400_000).toISOString(),
        rate_limit: null,
        last_error: null,
        errors: [],
        engine_product: h.name === "local" ? "docker" : "podman",
        rootless: false,
        stats_note: null,
        ...this.sourcePatches.get(h.name),
      },
    ]);
    const services = mockServices(this.specs, now, this.caddyDown);
    return {
      taken_at: new Date(now).toISOString(),
      overall: this.overall(active, sources),
      alerts: structuredClone(active),
      sources: [...sources, services.source],
      hosts: HOSTS.map((h) => this.hostStats(h, t)),
      containers: this.specs.map((s) => this.containerSnapshot(s, t)),
      services: services.services,
      service_problems: services.problems,
      proxy: services.proxy,
      forecasts: mockForecasts(this.specs, HOSTS.map((h) => h.name), now),
      channels: mockChannels(this.config, this.failingChannels, this.channelTests, now),
    };
  }

  private hostStats(h: HostSpec, t: number): ServerStats {
    const v = (metric: string, base: number, swing?: number) => wave(seedOf(h.name + metric), t, base, swing);
    const cpu = Math.min(100, v("cpu", h.cpu));
    const mem = Math.min(100, v("mem", h.memory, 0.04));
    const disks = h.disks.map((d) => {
      const percent = Math.min(100, d.percent + Math.sin(t / 5000) * 0.2);
      return { mount: d.mount, filesystem: d.filesystem, total_gb: d.totalGb, used_gb: (d.totalGb * percent) / 100, percent };
    });
    const root = disks[0];
    return {
      server_name: h.name,
      source_type: "docker-host",
      memory: { used_gb: (h.memoryGb * mem) / 100, total_gb: h.memoryGb, percent: mem },
      swap: { used_gb: 0.3, total_gb: 2, percent: 15 },
      disk: { used_gb: root.used_gb, total_gb: root.total_gb, percent: root.percent },
      disks,
      cpu: { count: h.cores, percent: cpu, per_core: Array.from({ length: h.cores }, (_, i) => Math.min(100, v(`core${i}`, h.cpu, 0.6))) },
      network: { rx_bytes_per_s: v("rx", h.net, 0.6), tx_bytes_per_s: v("tx", h.net * 0.6, 0.6) },
      load: { one: (h.cores * cpu) / 100, five: (h.cores * h.cpu) / 100, fifteen: (h.cores * h.cpu * 0.9) / 100 },
      uptime_s: 1_203_400 + Math.floor(t - this.started / 1000),
      status: "active",
      timestamp: new Date(t * 1000).toISOString(),
      vps: null,
    };
  }

  private limitOf(s: ContainerSpec): number {
    const host = HOSTS.find((h) => h.name === s.host);
    return s.limit || (host ? host.memoryGb * GIB : 8 * GIB);
  }

  /** The value of a container metric at time t (seconds). */
  private containerValue(s: ContainerSpec, metric: string, t: number): number {
    const seed = seedOf(s.id + metric);
    const limit = this.limitOf(s);
    switch (metric) {
      case "cpu_percent":
        return wave(seed, t, s.cpu, 0.35, 0.2);
      case "cpu_host_percent":
        return wave(seedOf(s.id + "cpu_percent"), t, s.cpu, 0.35, 0.2) / (HOSTS.find((h) => h.name === s.host)?.cores ?? 1);
      case "memory_bytes":
        return Math.min(limit, wave(seed, t, s.memory, 0.06, 0.01));
      case "memory_limit_bytes":
        return limit;
      case "memory_percent":
        return (this.containerValue(s, "memory_bytes", t) / limit) * 100;
      case "net_rx_bytes_per_s":
        return wave(seed, t, s.net, 0.7, 0.3);
      case "net_tx_bytes_per_s":
        return wave(seed, t, s.net * 0.45, 0.7, 0.3);
      case "block_read_bytes_per_s":
        return wave(seed, t, s.block * 0.3, 0.9, 0.6);
      case "block_write_bytes_per_s":
        return wave(seed, t, s.block, 0.9, 0.6);
      case "pids":
        return Math.round(wave(seed, t, s.pids, 0.1, 0.05));
      default:
        throw `unknown metric ${metric}`;
    }
  }

  private stats(s: ContainerSpec, t: number): ContainerStats {
    const up = Math.max(1, t - (this.startedAt.get(s.id) ?? this.started) / 1000);
    const value = (m: string) => this.containerValue(s, m, t);
    const paused = s.state === "paused";
    return {
      sampled_at: new Date(t * 1000).toISOString(),
      method: s.host === "local" ? "cgroup" : "api",
      cpu_percent: paused ? 0 : value("cpu_percent"),
      cpu_host_percent: paused ? 0 : value("cpu_host_percent"),
      online_cpus: HOSTS.find((h) => h.name === s.host)?.cores ?? 1,
      memory_bytes: value("memory_bytes"),
      memory_limit_bytes: value("memory_limit_bytes"),
      memory_percent: value("memory_percent"),
      net_rx_bytes: s.net * up,
      net_tx_bytes: s.net * 0.45 * up,
      net_rx_bytes_per_s: paused ? 0 : value("net_rx_bytes_per_s"),
      net_tx_bytes_per_s: paused ? 0 : value("net_tx_bytes_per_s"),
      block_read_bytes: s.block * 0.3 * up,
      block_write_bytes: s.block * up,
      block_read_bytes_per_s: paused ? 0 : value("block_read_bytes_per_s"),
      block_write_bytes_per_s: paused ? 0 : value("block_write_bytes_per_s"),
      pids: value("pids"),
    };
  }

  private statusText(s: ContainerSpec, now: number): string {
    const since = (ms: number) => {
      const m = Math.max(1, Math.round((now - ms) / 60_000));
      return m < 60 ? `${m} minutes` : m < 2880 ? `${Math.round(m / 60)} hours` : `${Math.round(m / 1440)} days`;
    };
    if (s.state === "exited") return `Exited (${s.exitCode ?? 0}) ${since(this.finishedAt.get(s.id) ?? now)} ago`;
    const up = `Up ${since(this.startedAt.get(s.id) ?? now)}`;
    if (s.state === "paused") return `${up} (Paused)`;
    return s.health ? `${up} (${s.health})` : up;
  }

  private containerSnapshot(s: ContainerSpec, t: number): ContainerSnapshot {
    const now = t * 1000;
    const live = s.state === "running" || s.state === "paused";
    return {
      stats: live ? this.stats(s, t) : null,
      host: s.host,
      id: s.id,
      name: s.name,
      image: s.image,
      state: s.state,
      status: this.statusText(s, now),
      health: live ? s.health : null,
      exit_code: s.exitCode,
      oom_killed: false,
      restart_count: s.restartCount,
      compose_project: s.project,
      compose_service: s.service,
      pod: null,
      ports: s.ports,
      created: new Date(this.started - (s.ageHours + 24) * 3600_000).toISOString(),
      started_at: new Date(this.startedAt.get(s.id) ?? this.started).toISOString(),
      finished_at: this.finishedAt.has(s.id) ? new Date(this.finishedAt.get(s.id) as number).toISOString() : null,
      labels: s.labels,
      ip_addresses: s.host === "local" ? { bridge: `172.18.0.${(seedOf(s.id) % 200) + 2}` } : {},
    };
  }

  private detail(s: ContainerSpec): ContainerDetail {
    const { stats: _stats, ...info } = this.containerSnapshot(s, this.now() / 1000);
    return containerDetail(s, info, this.now());
  }

  private history(target: HistoryTarget, metric: string, range: HistoryRange): Series {
    const span = RANGE_SECONDS[range];
    if (!span) throw `unknown range ${range}`;
    const end = Math.floor(this.now() / 1000 / SAMPLE_S) * SAMPLE_S;
    const step = span > 7200 ? 60 : SAMPLE_S;
    let value: (t: number) => number;
    let from = end - span;
    let until = end;
    if (target.kind === "container") {
      const spec = this.findSpec(target.id);
      if (!spec) throw `no such container: ${target.id}`;
      value = (t) => this.containerValue(spec, metric, t);
      const started = (this.startedAt.get(spec.id) ?? this.started) / 1000;
      from = Math.max(from, started);
      if (spec.state === "exited") until = Math.min(until, (this.finishedAt.get(spec.id) ?? this.now()) / 1000);
    } else {
      const host = HOSTS.find((h) => h.name === target.name);
      if (!host) throw `no such host: ${target.name}`;
      value = (t) => {
        const s = this.hostStats(host, t);
        const values: Record<string, number> = {
          cpu_percent: s.cpu.percent,
          memory_percent: s.memory.percent,
          disk_percent: s.disk.percent,
          net_rx_bytes_per_s: s.network.rx_bytes_per_s,
          net_tx_bytes_per_s: s.network.tx_bytes_per_s,
          load_1: s.load.one,
        };
        if (!(metric in values)) throw `unknown metric ${metric}`;
        return values[metric];
      };
    }
    return sampled(value, from, until, step);
  }

  private nextLines(sub: Subscription, count: number): LogLine[] {
    const lines: LogLine[] = [];
    const now = this.now();
    for (let i = 0; i < count; i++) {
      lines.push(logLine(sub.spec, sub.next, new Date(now - (count - i) * 20)));
      sub.next++;
    }
    this.logCursor.set(sub.spec.id, sub.next);
    return lines;
  }

  private startTicking(): void {
    this.timers.push(setInterval(() => this.tick(), SAMPLE_S * 1000));
    let n = 0;
    this.timers.push(
      setInterval(() => {
        n++;
        for (const [subscription, sub] of this.subscriptions) {
          if (sub.spec.state !== "running") continue;
          const count = (seedOf(`${n}`) % 4) + (n % 7 === 0 ? 6 : 0);
          const lines = this.nextLines(sub, count);
          if (lines.length) this.emit("logs", { subscription, lines });
        }
      }, 400),
    );
  }
}
