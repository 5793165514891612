// The window's Backend over `docktray serve`'s HTTP API (docs/api.md, docs/web.md): commands are REST calls,
// events come from one WebSocket (`snapshot` and `alerts` streams), each log subscription is a WebSocket of its
// own. Nothing polls: a dropped socket reconnects with a growing delay and then fetches a fresh snapshot. Requests
// ride the session cookie (webSession); the ones that change something carry the CSRF header.
import type { LogLine } from "../bindings/LogLine";
import type { Snapshot } from "../bindings/Snapshot";
import type { TimelineFilter } from "../bindings/TimelineFilter";
import type { Backend, CommandName, Commands, EventName, Events, ExecHandlers, ExecRequest, ExecSession, Unlisten } from "../ipc";
import type { AlertQuery, HistoryRange, Series } from "../types";
import type { Alert } from "../bindings/Alert";
import { openExec } from "./exec";
import { exportFileName, saveExport, seriesQuery } from "./exports";
import { isWebUrl } from "../services";
import { apiUrl, failure, webSession } from "./session.svelte";
import { SETTINGS_COMMANDS, settingsCommand } from "./settings";

type Handler = (payload: never) => void;
type Args<K extends CommandName> = Commands[K]["args"];

/** What a browser page cannot do: only the desktop app has it. */
export const DESKTOP_ONLY = "only the desktop app can do this";

/** The history's row fields for the window's metric names (WakeDock's monitoring/metrics rows). */
const ROW_FIELDS: Record<string, string> = {
  cpu_percent: "cpu_percent",
  memory_bytes: "memory_usage",
  memory_percent: "memory_percent",
  net_rx_bytes_per_s: "network_rx_bytes_per_s",
  net_tx_bytes_per_s: "network_tx_bytes_per_s",
};
const RANGE_HOURS: Record<HistoryRange, number> = { "15m": 0.25, "1h": 1, "24h": 24, "7d": 168 };

/** What `request` resolves with for a 404 the caller expects. */
const NOT_FOUND = Symbol("not found");

/** The timeline route's query for the window's filter: empty fields do not filter. */
function timelineQuery(filter: TimelineFilter): URLSearchParams {
  const query = new URLSearchParams();
  for (const key of ["since", "until", "host", "container", "kind", "text"] as const) {
    const value = filter[key];
    if (value && value.trim()) query.set(key, value);
  }
  if (filter.audit_only) query.set("audit_only", "true");
  if (filter.limit != null) query.set("limit", String(filter.limit));
  return query;
}

/** `ws://` or `wss://` for a path of the API. */
function socketUrl(path: string): string {
  const url = new URL(apiUrl(path));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export class HttpBackend implements Backend {
  private readonly listeners = new Map<EventName, Set<Handler>>();
  private events: WebSocket | null = null;
  private retryDelay = 500;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly logSockets = new Map<number, WebSocket>();
  private nextSubscription = 1;

  async invoke<K extends CommandName>(command: K, args: Args<K>): Promise<Commands[K]["result"]> {
    return (await this.run(command, args)) as Commands[K]["result"];
  }

  private async run(command: CommandName, args: unknown): Promise<unknown> {
    switch (command) {
      case "get_snapshot":
        return this.request<Snapshot>("GET", "api/v1/snapshot");
      case "container_action": {
        const { container, action } = args as Args<"container_action">;
        await this.request("POST", `api/v1/containers/${encodeURIComponent(container)}/${action}`);
        return null;
      }
      case "get_history":
        return this.history(args as Args<"get_history">);
      case "subscribe_logs":
        return this.subscribeLogs(args as Args<"subscribe_logs">);
      case "unsubscribe_logs": {
        const { subscription } = args as Args<"unsubscribe_logs">;
        this.logSockets.get(subscription)?.close();
        this.logSockets.delete(subscription);
        return null;
      }
      case "take_route":
        return null;
      case "open_url":
        return this.openUrl((args as Args<"open_url">).url);
      case "list_alerts":
        return this.alerts(args as AlertQuery);
      default:
        if (SETTINGS_COMMANDS.has(command)) {
          return settingsCommand(command, args, (method, path, body) => this.request(method, path, false, body));
        }
        return this.workbench(command, args);
    }
  }

  /** The detail, workbench and timeline commands: one REST route each (docs/api.md, "The window's views"). */
  private async workbench(command: CommandName, args: unknown): Promise<unknown> {
    const a = args as Record<string, unknown>;
    const at = (value: unknown) => encodeURIComponent(String(value));
    const host = `api/v1/hosts/${at(a?.host)}`;
    switch (command) {
      case "get_container_detail":
        return this.request("GET", `api/v1/containers/${at(a.container)}/detail`);
      case "acknowledge_alert":
        // The window's command answers false when no active, unacknowledged alert had that id: so does the page.
        return this.request("POST", `api/v1/alerts/${at(a.id)}/acknowledge`, true).then((answer) => answer !== NOT_FOUND);
      case "list_images":
        return this.request("GET", `${host}/images`);
      case "list_volumes":
        return this.request("GET", `${host}/volumes`);
      case "list_networks":
        return this.request("GET", `${host}/networks`);
      case "get_disk_usage":
        return this.request("GET", `${host}/disk-usage?fresh=${a.fresh ? "true" : "false"}`);
      case "remove_image":
        return this.request("DELETE", `${host}/images/${at(a.image)}?force=${a.force ? "true" : "false"}`);
      case "prune_images":
        return this.request("POST", `${host}/images/prune`);
      case "remove_volume":
        return this.request("DELETE", `${host}/volumes/${at(a.volume)}`);
      case "prune_volumes":
        return this.request("POST", `${host}/volumes/prune`);
      case "remove_network":
        return this.request("DELETE", `${host}/networks/${at(a.network)}`);
      case "stack_plan":
        return this.request("GET", `${host}/stacks/${at(a.project)}/plan?action=${at(a.action)}`);
      case "stack_action":
        return this.request("POST", `${host}/stacks/${at(a.project)}/${at(a.action)}`);
      case "retry_host":
        await this.request("POST", `api/v1/hosts/${at(a.name)}/retry`);
        return null;
      case "list_timeline":
        return this.request("GET", `api/v1/timeline?${timelineQuery((args as Args<"list_timeline">).filter)}`);
      // Exports are downloads: the server writes the file, the browser saves it (lib/http/exports.ts).
      case "default_export_path": {
        const { stem, kind } = args as Args<"default_export_path">;
        return exportFileName(stem, kind);
      }
      case "export_timeline": {
        const { filter, kind, path } = args as Args<"export_timeline">;
        const query = timelineQuery(filter);
        query.set("format", kind);
        return saveExport(await this.download(`api/v1/timeline/export?${query}`), path, kind);
      }
      case "export_series": {
        const exported = args as Args<"export_series">;
        const query = seriesQuery(exported);
        return saveExport(await this.download(`api/v1/history/export?${query}`), exported.path, exported.kind);
      }
      default:
        throw new Error(`${command.replace(/_/g, " ")}: ${DESKTOP_ONLY}`);
    }
  }

  /** A service's address in a new tab of the user's browser (http and https only, as the desktop opens them),
   * without giving that page a handle on this one (noopener). */
  private openUrl(url: string): null {
    if (!isWebUrl(url)) throw new Error(`${url} is not an http or https address`);
    // With noopener the browser answers null even when the tab opened, so the answer tells nothing.
    window.open(url, "_blank", "noopener,noreferrer");
    return null;
  }

  /** One REST call; a 401 ends the session (the page goes back to its sign-in form). With `missingIsAnswer`, a
   * 404 resolves with NOT_FOUND instead of failing. A `body` goes as JSON. */
  private async request<T>(method: string, path: string, missingIsAnswer = false, body?: unknown): Promise<T> {
    const headers: Record<string, string> = method === "GET" ? {} : { ...webSession.headers() };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(apiUrl(path), {
      method,
      credentials: "same-origin",
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (response.status === 401) {
      const message = await failure(response);
      webSession.ended(message);
      throw new Error(message);
    }
    if (missingIsAnswer && response.status === 404) return NOT_FOUND as T;
    if (!response.ok) throw new Error(await failure(response));
    if (response.status === 204) return null as T;
    return (await response.json()) as T;
  }

  /** A file the server writes (an export): the answer, once it is known to be one. */
  private async download(path: string): Promise<Response> {
    const response = await fetch(apiUrl(path), { credentials: "same-origin" });
    if (response.status === 401) {
      const message = await failure(response);
      webSession.ended(message);
      throw new Error(message);
    }
    if (!response.ok) throw new Error(await failure(response));
    return response;
  }

  /** The Alerts view's list: active alerts live, the rest from the history (api/v1/alerts). */
  private alerts({ activeOnly, level, since }: AlertQuery): Promise<Alert[]> {
    const query = new URLSearchParams({ active_only: activeOnly ? "true" : "false" });
    if (level) query.set("level", level);
    if (since) query.set("since", since);
    return this.request<Alert[]>("GET", `api/v1/alerts?${query}`);
  }

  private async history({ target, metric, range }: Args<"get_history">): Promise<Series> {
    const field = ROW_FIELDS[metric];
    if (target.kind !== "container" || !field) return { resolution: "raw", points: [] };
    const query = new URLSearchParams({ container_id: target.id, hours: String(RANGE_HOURS[range]), limit: "5000" });
    const rows = await this.request<Record<string, unknown>[]>("GET", `api/v1/monitoring/metrics?${query}`);
    const points = rows
      .filter((row) => typeof row[field] === "number" && typeof row.timestamp === "string")
      .map((row) => {
        const value = row[field] as number;
        return { at: row.timestamp as string, min: value, avg: value, max: value };
      });
    return { resolution: "raw", points };
  }

  /** Follows a container's logs over a WebSocket of its own; its lines (the kept history first) come as `logs`. */
  private subscribeLogs({ container, tail }: Args<"subscribe_logs">): Promise<{ subscription: number; history: LogLine[] }> {
    const subscription = this.nextSubscription++;
    const query = new URLSearchParams({ streams: "logs", container, tail: String(tail ?? 1000) });
    const socket = new WebSocket(socketUrl(`api/v1/ws?${query}`));
    this.logSockets.set(subscription, socket);
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { type: string; lines?: LogLine[] };
      if (message.type === "logs" && message.lines) this.emit("logs", { subscription, lines: message.lines });
    };
    return new Promise((resolve, reject) => {
      socket.onopen = () => resolve({ subscription, history: [] });
      socket.onerror = () => {
        this.logSockets.delete(subscription);
        reject(new Error(`the logs of ${container} cannot be followed (is the container still there?)`));
      };
    });
  }

  async listen<E extends EventName>(event: E, handler: (payload: Events[E]) => void): Promise<Unlisten> {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(handler as Handler);
    if (event === "snapshot" || event === "alert") this.connect();
    return () => {
      set.delete(handler as Handler);
    };
  }

  private emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const handler of this.listeners.get(event) ?? []) (handler as (p: Events[E]) => void)(payload);
  }

  /** The one socket for pushed snapshots and alert changes; reconnects after a drop, then catches up. */
  private connect(): void {
    if (this.events || this.retryTimer) return;
    const socket = new WebSocket(socketUrl("api/v1/ws?streams=snapshot,alerts"));
    this.events = socket;
    socket.onopen = () => {
      this.retryDelay = 500;
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { type: string; data?: unknown; transition?: unknown };
      if (message.type === "snapshot") this.emit("snapshot", message.data as Snapshot);
      else if (message.type === "alert" && message.transition) this.emit("alert", message.transition as Events["alert"]);
    };
    socket.onclose = () => {
      this.events = null;
      if (webSession.state !== "signed-in") return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.connect();
        this.request<Snapshot>("GET", "api/v1/snapshot")
          .then((snapshot) => this.emit("snapshot", snapshot))
          .catch(() => {});
      }, this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
    };
  }

  /** Closes every socket (sign-out). */
  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.events?.close();
    this.events = null;
    for (const socket of this.logSockets.values()) socket.close();
    this.logSockets.clear();
  }

  /** A terminal over the API's WebSocket (lib/http/exec.ts); refused by the server unless actions are allowed. */
  async exec(request: ExecRequest, handlers: ExecHandlers): Promise<ExecSession> {
    const url = socketUrl(`api/v1/containers/${encodeURIComponent(request.container)}/exec`);
    return openExec(url, webSession.websocketProtocols(), request, handlers);
  }
}

