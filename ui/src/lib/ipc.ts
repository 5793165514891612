// Typed access to the shell's commands and events (docs/ipc.md). In the Tauri window the calls go through
// @tauri-apps/api; in the page `docktray serve` serves, over its HTTP API (lib/http/, docs/web.md); anywhere else
// (a browser with `npm run dev`, `vite preview`, tests) a mock backend answers.
import { Channel, invoke as tauriInvoke } from "@tauri-apps/api/core";
import { listen as tauriListen } from "@tauri-apps/api/event";
import type { Discovered } from "./bindings/Discovered";
import type { Action } from "./bindings/Action";
import type { Alert } from "./bindings/Alert";
import type { AlertTransition } from "./bindings/AlertTransition";
import type { Config } from "./bindings/Config";
import type { ContainerDetail } from "./bindings/ContainerDetail";
import type { ConnectionTest } from "./bindings/ConnectionTest";
import type { HostConfig } from "./bindings/HostConfig";
import type { HostKeys } from "./bindings/HostKeys";
import type { StepResult } from "./bindings/StepResult";
import type { Snapshot } from "./bindings/Snapshot";
import type { TokenStatus } from "./bindings/TokenStatus";
import type { VpsHistory } from "./bindings/VpsHistory";
import type { WebdockAccount } from "./bindings/WebdockAccount";
import type { DockerDiskUsage } from "./bindings/DockerDiskUsage";
import type { ExecEnd } from "./bindings/ExecEnd";
import type { ExecStarted } from "./bindings/ExecStarted";
import type { ImageSummary } from "./bindings/ImageSummary";
import type { NetworkSummary } from "./bindings/NetworkSummary";
import type { Reclaimed } from "./bindings/Reclaimed";
import type { StackAction } from "./bindings/StackAction";
import type { StackReport } from "./bindings/StackReport";
import type { VolumeSummary } from "./bindings/VolumeSummary";
import type { ExportKind } from "./bindings/ExportKind";
import type { Exported } from "./bindings/Exported";
import type { TimelineFilter } from "./bindings/TimelineFilter";
import type { TimelineRow } from "./bindings/TimelineRow";
import type {
  AlertQuery,
  HistoryRange,
  HistoryTarget,
  LogSubscription,
  LogsBatch,
  Series,
  Settings,
  Validation,
} from "./types";

/** Every command: its arguments and what it resolves to. */
export interface Commands {
  get_snapshot: { args: undefined; result: Snapshot };
  get_container_detail: { args: { container: string }; result: ContainerDetail };
  container_action: { args: { container: string; action: Action }; result: null };
  get_history: { args: { target: HistoryTarget; metric: string; range: HistoryRange }; result: Series };
  subscribe_logs: { args: { container: string; tail: number | null }; result: LogSubscription };
  unsubscribe_logs: { args: { subscription: number }; result: null };
  list_alerts: { args: AlertQuery; result: Alert[] };
  acknowledge_alert: { args: { id: number }; result: boolean };
  get_settings: { args: undefined; result: Settings };
  validate_settings: { args: { config: Config }; result: Validation };
  /** Resolves with the saved settings that take effect at the next start (config keys; empty when none). */
  save_settings: { args: { config: Config }; result: string[] };
  set_notifications_paused: { args: { paused: boolean; minutes: number | null }; result: null };
  take_route: { args: undefined; result: string | null };
  webdock_token_status: { args: { account: string }; result: TokenStatus };
  webdock_test_connection: { args: { account: WebdockAccount; token: string | null }; result: ConnectionTest };
  webdock_set_token: { args: { account: WebdockAccount; token: string }; result: ConnectionTest };
  webdock_remove_token: { args: { account: string }; result: boolean };
  get_vps_history: { args: { account: string; slug: string }; result: VpsHistory };
  check_host: { args: { host: HostConfig }; result: StepResult[] };
  host_fingerprint: { args: { host: HostConfig }; result: HostKeys };
  /** Resolves with the known_hosts file written. */
  trust_host: { args: { host: HostConfig; fingerprints: string[] }; result: string };
  /** Both resolve with the saved settings that take effect at the next start (empty: hosts apply at once). */
  save_host: { args: { host: HostConfig; replacing: string | null }; result: string[] };
  remove_host: { args: { name: string }; result: string[] };
  retry_host: { args: { name: string }; result: null };
  /** Hosts found on this machine (Docker contexts, DOCKER_HOST, ~/.ssh/config) that are not configured yet. */
  discover_hosts: { args: undefined; result: Discovered[] };
  /** Opens a service's address in the user's browser: http and https only, and only a current service's URL. */
  open_url: { args: { url: string }; result: null };
  /** Ends Caddy's backoff wait and talks to it now; rejects while Caddy sync is off. */
  retry_caddy: { args: undefined; result: null };
  /** Sends a test message through a notification channel (`webhook:NAME`, `ntfy`, `email`); resolves with where it went. */
  test_channel: { args: { channel: string }; result: string };
  // The workbench, on the host named (terminals go through `Backend.exec`).
  list_images: { args: { host: string }; result: ImageSummary[] };
  list_volumes: { args: { host: string }; result: VolumeSummary[] };
  list_networks: { args: { host: string }; result: NetworkSummary[] };
  /** The engine's last measurement when recent, unless `fresh`. */
  get_disk_usage: { args: { host: string; fresh: boolean }; result: DockerDiskUsage };
  remove_image: { args: { host: string; image: string; force: boolean }; result: Reclaimed };
  prune_images: { args: { host: string }; result: Reclaimed };
  remove_volume: { args: { host: string; volume: string }; result: Reclaimed };
  prune_volumes: { args: { host: string }; result: Reclaimed };
  remove_network: { args: { host: string; network: string }; result: Reclaimed };
  stack_plan: { args: { host: string; project: string; action: StackAction }; result: StackReport };
  stack_action: { args: { host: string; project: string; action: StackAction }; result: StackReport };
  // The timeline: engine events and audit entries from the history, and the window's exports (to a new file).
  list_timeline: { args: { filter: TimelineFilter }; result: TimelineRow[] };
  default_export_path: { args: { stem: string; kind: ExportKind }; result: string };
  export_timeline: { args: { filter: TimelineFilter; kind: ExportKind; path: string }; result: Exported };
  /** A chart's visible range (`since`, `until`: RFC 3339) of its metrics. */
  export_series: {
    args: { target: HistoryTarget; metrics: string[]; since: string; until: string; kind: ExportKind; path: string };
    result: Exported;
  };
}

/** A terminal to open: in this container, with this shell (null: bash, else sh), at this size. */
export interface ExecRequest {
  container: string;
  shell: string | null;
  cols: number;
  rows: number;
}

/** Where a terminal's output goes: byte chunks as they come, then how it ended (once). */
export interface ExecHandlers {
  output(chunk: Uint8Array): void;
  end(end: ExecEnd): void;
}

/** An open terminal: bytes in, size changes, close. The same over any transport. */
export interface ExecSession {
  readonly shell: string;
  write(data: Uint8Array): Promise<void>;
  resize(cols: number, rows: number): Promise<void>;
  close(): Promise<void>;
}

/** Every event and its payload. */
export interface Events {
  snapshot: Snapshot;
  alert: AlertTransition;
  logs: LogsBatch;
  navigate: string;
  /** New timeline rows: live engine events, back-filled ones, audit entries. */
  timeline: TimelineRow[];
}

export type CommandName = keyof Commands;
export type EventName = keyof Events;
export type Unlisten = () => void;

/** What answers the window: the Tauri shell or the mock. */
export interface Backend {
  invoke<K extends CommandName>(command: K, args: Commands[K]["args"]): Promise<Commands[K]["result"]>;
  listen<E extends EventName>(event: E, handler: (payload: Events[E]) => void): Promise<Unlisten>;
  /** Opens a terminal in a running container; rejects with the reason when it cannot (not running, no shell). */
  exec(request: ExecRequest, handlers: ExecHandlers): Promise<ExecSession>;
}

/** The header naming the session of a raw `exec_input` body. */
const EXEC_SESSION_HEADER = "docktray-exec-session";

class TauriBackend implements Backend {
  async invoke<K extends CommandName>(command: K, args: Commands[K]["args"]): Promise<Commands[K]["result"]> {
    return tauriInvoke<Commands[K]["result"]>(command, args ?? {});
  }

  async listen<E extends EventName>(event: E, handler: (payload: Events[E]) => void): Promise<Unlisten> {
    return tauriListen<Events[E]>(event, (e) => handler(e.payload));
  }

  async exec(request: ExecRequest, handlers: ExecHandlers): Promise<ExecSession> {
    // Raw chunks arrive as ArrayBuffers, the end as JSON; the channel keeps their order.
    const output = new Channel<ArrayBuffer | ExecEnd>((message) => {
      if (message instanceof ArrayBuffer) handlers.output(new Uint8Array(message));
      else handlers.end(message);
    });
    const { container, shell, cols, rows } = request;
    const started = await tauriInvoke<ExecStarted>("exec_start", { container, program: shell, cols, rows, output });
    const session = started.session;
    // Separate invokes may run in any order on the Rust side: keystrokes go one call at a time, and what is
    // typed while a call is in flight goes together in the next, so order is kept and a paste is one call.
    let waiting: Uint8Array[] = [];
    let sending: Promise<void> | null = null;
    const flush = async () => {
      while (waiting.length) {
        const parts = waiting;
        waiting = [];
        const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const part of parts) {
          data.set(part, at);
          at += part.length;
        }
        await tauriInvoke("exec_input", data, { headers: { [EXEC_SESSION_HEADER]: String(session) } });
      }
    };
    return {
      shell: started.shell,
      write: (data) => {
        waiting.push(data);
        sending ??= flush().finally(() => {
          sending = null;
        });
        return sending;
      },
      resize: async (c, r) => {
        await tauriInvoke("exec_resize", { session, cols: c, rows: r });
      },
      close: async () => {
        await tauriInvoke("exec_close", { session });
      },
    };
  }
}

let backend: Backend | null = null;
let pending: Promise<Backend> | null = null;

/** True inside the Tauri window. */
export function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/** True in the page `docktray serve` serves (it marks index.html with `<meta name="docktray-backend">`). */
export function inServedPage(): boolean {
  return typeof document !== "undefined" && document.querySelector('meta[name="docktray-backend"][content="http"]') !== null;
}

/** The backend in use, chosen once: Tauri when `window.__TAURI_INTERNALS__` exists, HTTP in the served page, the
 * mock otherwise. */
export function getBackend(): Promise<Backend> {
  if (backend) return Promise.resolve(backend);
  pending ??= (async () => {
    if (inTauri()) {
      backend = new TauriBackend();
    } else if (inServedPage()) {
      const { HttpBackend } = await import("./http/backend");
      backend = new HttpBackend();
    } else {
      const { MockBackend } = await import("./mock/backend");
      const mock = new MockBackend({ autoTick: true, latency: 20 });
      // Reachable from the browser console for trying things out (push lines, fail actions ...).
      Object.assign(window, { __docktrayMock: mock });
      backend = mock;
    }
    return backend;
  })();
  return pending;
}

/** Replaces the backend (tests install a fresh mock per test). */
export function setBackend(next: Backend | null): void {
  backend = next;
  pending = null;
}

export function isMock(): boolean {
  return !inTauri() && !inServedPage();
}

async function call<K extends CommandName>(command: K, args: Commands[K]["args"]): Promise<Commands[K]["result"]> {
  return (await getBackend()).invoke(command, args);
}

/** Turns whatever a rejected command carries (a string from Rust, an Error) into a message. */
export function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  if (error instanceof Error) return error.message;
  if (error && typeof error === "object" && "message" in error && typeof error.message === "string") {
    return error.message;
  }
  return String(error);
}

// Commands

export const getSnapshot = () => call("get_snapshot", undefined);
export const getContainerDetail = (container: string) => call("get_container_detail", { container });
export const containerAction = (container: string, action: Action) =>
  call("container_action", { container, action });
export const getHistory = (target: HistoryTarget, metric: string, range: HistoryRange) =>
  call("get_history", { target, metric, range });
export const subscribeLogs = (container: string, tail: number | null) =>
  call("subscribe_logs", { container, tail });
export const unsubscribeLogs = (subscription: number) => call("unsubscribe_logs", { subscription });
export const listAlerts = (query: AlertQuery) => call("list_alerts", query);
export const acknowledgeAlert = (id: number) => call("acknowledge_alert", { id });
export const getSettings = () => call("get_settings", undefined);
export const validateSettings = (config: Config) => call("validate_settings", { config });
export const saveSettings = (config: Config) => call("save_settings", { config });
export const setNotificationsPaused = (paused: boolean, minutes: number | null) =>
  call("set_notifications_paused", { paused, minutes });
export const takeRoute = () => call("take_route", undefined);
// Webdock: a token only ever goes in; replies say "set" / "not set" and what the token sees.
export const webdockTokenStatus = (account: string) => call("webdock_token_status", { account });
export const webdockTestConnection = (account: WebdockAccount, token: string | null) =>
  call("webdock_test_connection", { account, token });
export const webdockSetToken = (account: WebdockAccount, token: string) => call("webdock_set_token", { account, token });
export const webdockRemoveToken = (account: string) => call("webdock_remove_token", { account });
export const getVpsHistory = (account: string, slug: string) => call("get_vps_history", { account, slug });
// SSH hosts
export const checkHost = (host: HostConfig) => call("check_host", { host });
export const discoverHosts = () => call("discover_hosts", undefined);
export const hostFingerprint = (host: HostConfig) => call("host_fingerprint", { host });
export const trustHost = (host: HostConfig, fingerprints: string[]) => call("trust_host", { host, fingerprints });
export const saveHost = (host: HostConfig, replacing: string | null) => call("save_host", { host, replacing });
export const removeHost = (name: string) => call("remove_host", { name });
export const retryHost = (name: string) => call("retry_host", { name });
// Services and Caddy
export const openUrl = (url: string) => call("open_url", { url });
export const retryCaddy = () => call("retry_caddy", undefined);
export const testChannel = (channel: string) => call("test_channel", { channel });
// Workbench
export const listImages = (host: string) => call("list_images", { host });
export const listVolumes = (host: string) => call("list_volumes", { host });
export const listNetworks = (host: string) => call("list_networks", { host });
export const getDiskUsage = (host: string, fresh = false) => call("get_disk_usage", { host, fresh });
export const removeImage = (host: string, image: string, force: boolean) => call("remove_image", { host, image, force });
export const pruneImages = (host: string) => call("prune_images", { host });
export const removeVolume = (host: string, volume: string) => call("remove_volume", { host, volume });
export const pruneVolumes = (host: string) => call("prune_volumes", { host });
export const removeNetwork = (host: string, network: string) => call("remove_network", { host, network });
export const stackPlan = (host: string, project: string, action: StackAction) => call("stack_plan", { host, project, action });
export const stackAction = (host: string, project: string, action: StackAction) =>
  call("stack_action", { host, project, action });
export const listTimeline = (filter: TimelineFilter) => call("list_timeline", { filter });
export const defaultExportPath = (stem: string, kind: ExportKind) => call("default_export_path", { stem, kind });
export const exportTimeline = (filter: TimelineFilter, kind: ExportKind, path: string) =>
  call("export_timeline", { filter, kind, path });
export const exportSeries = (args: Commands["export_series"]["args"]) => call("export_series", args);
export const openTerminal = async (request: ExecRequest, handlers: ExecHandlers) =>
  (await getBackend()).exec(request, handlers);

// Events

async function on<E extends EventName>(event: E, handler: (payload: Events[E]) => void): Promise<Unlisten> {
  return (await getBackend()).listen(event, handler);
}

export const onSnapshot = (handler: (snapshot: Snapshot) => void) => on("snapshot", handler);
export const onAlert = (handler: (transition: AlertTransition) => void) => on("alert", handler);
export const onLogs = (handler: (batch: LogsBatch) => void) => on("logs", handler);
export const onNavigate = (handler: (route: string) => void) => on("navigate", handler);
export const onTimeline = (handler: (rows: TimelineRow[]) => void) => on("timeline", handler);
