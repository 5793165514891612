// Services in the window: how Caddy's state for each reads, which addresses may be opened in the browser, and
// the services and label problems of one container.
import type { RouteState } from "./bindings/RouteState";
import type { Service } from "./bindings/Service";
import type { ServiceProblem } from "./bindings/ServiceProblem";
import type { Snapshot } from "./bindings/Snapshot";

export const CADDY_LABEL: Record<RouteState, string> = {
  off: "sync off",
  stopped: "no route (stopped)",
  pending: "pending",
  routed: "routed",
  failed: "failed",
  unreachable: "waiting for Caddy",
};

export const CADDY_TONE: Record<RouteState, string> = {
  off: "none",
  stopped: "none",
  pending: "info",
  routed: "ok",
  failed: "critical",
  unreachable: "warning",
};

/** Only http and https addresses are ever handed to the browser (labels are untrusted). */
export function isWebUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** The services of one container, and the problems of its labels. */
export function servicesOf(snapshot: Snapshot | null, host: string, id: string): { services: Service[]; problems: ServiceProblem[] } {
  return {
    services: (snapshot?.services ?? []).filter((s) => s.host === host && s.container_id === id),
    problems: (snapshot?.service_problems ?? []).filter((p) => p.host === host && p.container_id === id),
  };
}

/** Services matching a filter text (name, type, URL, container, host). */
export function filterServices(services: Service[], text: string): Service[] {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return services;
  return services.filter((s) =>
    `${s.name} ${s.type} ${s.url} ${s.container_name} ${s.host}`.toLowerCase().includes(wanted),
  );
}
