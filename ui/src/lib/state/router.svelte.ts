// A hash router: #/overview, #/host/<name>, #/containers, #/container/<host>/<id>/<tab>, #/resources/<tab>[/<host>],
// #/services, #/alerts, #/timeline, #/settings.

export type DetailTab = "stats" | "events" | "logs" | "terminal" | "info";
export type ResourceTab = "images" | "volumes" | "networks";

export type Route =
  | { name: "overview" }
  | { name: "host"; host: string }
  | { name: "containers" }
  | { name: "container"; host: string; id: string; tab: DetailTab }
  | { name: "resources"; tab: ResourceTab; host: string | null }
  | { name: "services" }
  | { name: "alerts" }
  | { name: "timeline" }
  | { name: "settings" };

const TABS: DetailTab[] = ["stats", "events", "logs", "terminal", "info"];
const RESOURCE_TABS: ResourceTab[] = ["images", "volumes", "networks"];

const dec = (part: string | undefined) => {
  try {
    return decodeURIComponent(part ?? "");
  } catch {
    return part ?? "";
  }
};

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/");
  switch (parts[0]) {
    case "host":
      return parts[1] ? { name: "host", host: dec(parts[1]) } : { name: "overview" };
    case "containers":
      return { name: "containers" };
    case "container": {
      if (!parts[1] || !parts[2]) return { name: "containers" };
      const tab = TABS.includes(parts[3] as DetailTab) ? (parts[3] as DetailTab) : "stats";
      return { name: "container", host: dec(parts[1]), id: dec(parts[2]), tab };
    }
    case "resources": {
      const tab = RESOURCE_TABS.includes(parts[1] as ResourceTab) ? (parts[1] as ResourceTab) : "images";
      return { name: "resources", tab, host: parts[2] ? dec(parts[2]) : null };
    }
    case "services":
      return { name: "services" };
    case "alerts":
      return { name: "alerts" };
    case "timeline":
      return { name: "timeline" };
    case "settings":
      return { name: "settings" };
    default:
      return { name: "overview" };
  }
}

export function href(route: Route): string {
  const enc = encodeURIComponent;
  switch (route.name) {
    case "host":
      return `#/host/${enc(route.host)}`;
    case "container":
      return `#/container/${enc(route.host)}/${enc(route.id)}/${route.tab}`;
    case "resources":
      return `#/resources/${route.tab}${route.host ? `/${enc(route.host)}` : ""}`;
    default:
      return `#/${route.name}`;
  }
}

/** Where an alert's target is shown: its container, its host, or the services (Caddy). */
export function targetHref(target: { kind: string; host: string; id: string }): string {
  if (target.kind === "container") return href({ name: "container", host: target.host, id: target.id, tab: "stats" });
  if (target.kind === "proxy") return href({ name: "services" });
  return href({ name: "host", host: target.host });
}

/** A route from the shell (`take_route`, the `navigate` event): `container:<host>/<id>`, `host:<name>`, `alerts`. */
export function fromIpcRoute(text: string): Route | null {
  const value = text.trim();
  if (value === "alerts") return { name: "alerts" };
  if (value === "containers") return { name: "containers" };
  if (value === "services") return { name: "services" };
  if (value === "settings") return { name: "settings" };
  if (value === "overview") return { name: "overview" };
  if (value.startsWith("host:")) {
    const host = value.slice(5);
    return host ? { name: "host", host } : null;
  }
  if (value.startsWith("container:")) {
    const rest = value.slice(10);
    const slash = rest.lastIndexOf("/");
    if (slash <= 0 || slash === rest.length - 1) return null;
    return { name: "container", host: rest.slice(0, slash), id: rest.slice(slash + 1), tab: "stats" };
  }
  return null;
}

class Router {
  route = $state<Route>({ name: "overview" });

  constructor() {
    if (typeof window === "undefined") return;
    this.route = parseHash(window.location.hash);
    window.addEventListener("hashchange", () => {
      this.route = parseHash(window.location.hash);
    });
  }

  go(route: Route): void {
    const next = href(route);
    if (window.location.hash !== next) window.location.hash = next;
    this.route = route;
  }

  /** Re-reads the hash (tests set it directly). */
  sync(): void {
    this.route = parseHash(window.location.hash);
  }
}

export const router = new Router();
