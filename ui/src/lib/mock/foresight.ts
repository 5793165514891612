// The mock's forecasts and notification channels: one rising memory forecast (the first container with a memory
// limit), one steady disk forecast per host, and each configured channel's delivery state.
import type { ChannelStatus } from "../bindings/ChannelStatus";
import type { Config } from "../bindings/Config";
import type { Forecast } from "../bindings/Forecast";
import type { ContainerSpec } from "./data";

const HOUR = 3600_000;
const MIB = 1024 * 1024;

export function mockForecasts(specs: ContainerSpec[], hosts: string[], now: number): Forecast[] {
  const computed_at = new Date(now).toISOString();
  const since = new Date(now - 24 * HOUR).toISOString();
  const out: Forecast[] = [];
  const leaking = specs.find((s) => s.state === "running" && s.limit > 0);
  if (leaking) {
    const slope = 40 * MIB;
    const hours = (leaking.limit - leaking.memory) / slope;
    out.push({
      kind: "memory",
      target: { kind: "container", host: leaking.host, id: leaking.id, name: leaking.name },
      detail: null,
      state: "rising",
      unit: "B",
      current: leaking.memory,
      limit: leaking.limit,
      slope_per_hour: slope,
      quality: 0.93,
      reaches_at: new Date(now + hours * HOUR).toISOString(),
      hours_left: hours,
      since,
      points: 1440,
      computed_at,
      summary: `grows about 40 MB/h, reaches its limit in about ${Math.round(hours)} h`,
    });
  }
  for (const host of hosts) {
    out.push({
      kind: "disk",
      target: { kind: "host", host, id: host, name: host },
      detail: "/",
      state: "steady",
      unit: "%",
      current: 61,
      limit: 100,
      slope_per_hour: 0,
      quality: 0.2,
      reaches_at: null,
      hours_left: null,
      since,
      points: 1440,
      computed_at,
      summary: "steady",
    });
  }
  return out;
}

/** Channel names as `docktray notify test` takes them. */
export function channelNames(config: Config): string[] {
  const n = config.notifications;
  return [
    ...n.webhooks.filter((w) => w.enabled).map((w) => `webhook:${w.name}`),
    ...(n.ntfy.enabled && n.ntfy.topic ? ["ntfy"] : []),
    ...(n.email.enabled && n.email.server ? ["email"] : []),
  ];
}

export function mockChannels(config: Config, failing: Map<string, string>, sent: Map<string, number>, now: number): ChannelStatus[] {
  return channelNames(config).map((name) => {
    const error = failing.get(name) ?? null;
    const kind = name.startsWith("webhook:") ? "webhook" : name;
    const webhook = config.notifications.webhooks.find((w) => `webhook:${w.name}` === name);
    const destination = webhook ? webhook.url : kind === "ntfy" ? `${config.notifications.ntfy.server}/${config.notifications.ntfy.topic}` : config.notifications.email.to.join(", ");
    return {
      name,
      kind,
      state: error ? "failing" : "ok",
      destination,
      last_sent_at: sent.has(name) ? new Date(now).toISOString() : null,
      last_error: error,
      last_error_at: error ? new Date(now).toISOString() : null,
      queued: 0,
      dropped: 0,
      sent: sent.get(name) ?? 0,
    };
  });
}
