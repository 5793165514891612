// The mock's services, read from a few of the fleet's containers as if they carried `docktray.` labels, with
// Caddy's state for each, two bad labels, and Caddy itself as a source.
import type { ProxyStatus } from "../bindings/ProxyStatus";
import type { RouteState } from "../bindings/RouteState";
import type { Service } from "../bindings/Service";
import type { ServiceKind } from "../bindings/ServiceKind";
import type { ServiceProblem } from "../bindings/ServiceProblem";
import type { SourceStatus } from "../bindings/SourceStatus";
import type { ContainerSpec } from "./data";

type Labelled = { container: string; kind: ServiceKind; domain: string; port: number; path?: string; ssl?: boolean };

const LABELLED: Labelled[] = [
  { container: "shop-web-1", kind: "revp", domain: "shop.example.com", port: 80, ssl: true },
  { container: "shop-api-1", kind: "api", domain: "api.example.com", port: 8080, path: "/v1", ssl: true },
  { container: "monitoring-grafana-1", kind: "web", domain: "grafana.example.com", port: 3000, ssl: true },
  { container: "monitoring-prometheus-1", kind: "metrics", domain: "metrics.example.com", port: 9090, path: "/metrics" },
  { container: "db-migrate", kind: "revp", domain: "migrate.example.com", port: 8080 },
  { container: "proxy-whoami-1", kind: "revp", domain: "whoami.example.com", port: 80 },
];

const PROBLEMS: { container: string; kind: ServiceKind | null; label: string; message: string }[] = [
  {
    container: "portainer",
    kind: "revp",
    label: "docktray.revp.port",
    message: 'label docktray.revp.port: "https" is not valid: expected a port number from 1 to 65535, such as "80"',
  },
  {
    container: "uptime-kuma",
    kind: "web",
    label: "docktray.web.domain",
    message:
      "label docktray.web.domain: shop.example.com/ is already claimed by shop-web-1 on local (revp service); give one of them another domain or docktray.web.path",
  },
];

const routeId = (host: string, container: string, kind: ServiceKind) =>
  `docktray-${host}-${container.replace(/[^a-zA-Z0-9_.]/g, "_").toLowerCase()}-${kind}`;

/** Caddy's answer for each route (the others are routed). */
const ROUTE_STATE: Record<string, { state: RouteState; message: string }> = {
  "proxy-whoami-1": {
    state: "failed",
    message: "port 80 of proxy-whoami-1 is not published on edge-01: publish it (-p HOSTPORT:80) so Caddy can reach it there",
  },
};

export type MockServices = { services: Service[]; problems: ServiceProblem[]; proxy: ProxyStatus; source: SourceStatus };

/** The services of `specs`; `caddyDown` shows Caddy unreachable with every route waiting. */
export function mockServices(specs: ContainerSpec[], now: number, caddyDown: boolean): MockServices {
  const services: Service[] = [];
  for (const l of LABELLED) {
    const spec = specs.find((s) => s.name === l.container);
    if (!spec) continue;
    const path = l.path ?? "/";
    const id = routeId(spec.host, spec.name, l.kind);
    const special = ROUTE_STATE[spec.name];
    const running = spec.state === "running";
    const caddy: RouteState = !running ? "stopped" : caddyDown ? "unreachable" : (special?.state ?? "routed");
    services.push({
      name: spec.service ?? spec.name,
      type: l.kind,
      url: `${l.ssl ? "https" : "http"}://${l.domain}${path}`,
      domain: l.domain,
      port: l.port,
      path,
      ssl: l.ssl ?? false,
      host: spec.host,
      container_id: spec.id,
      container_name: spec.name,
      state: spec.state,
      health: running ? spec.health : null,
      route_id: id,
      caddy,
      caddy_message: caddy === "failed" ? (special?.message ?? null) : caddy === "unreachable" ? "waiting for Caddy: pushed when it is back" : null,
      labels: {
        [`docktray.${l.kind}.domain`]: l.domain,
        [`docktray.${l.kind}.port`]: String(l.port),
        ...(l.path ? { [`docktray.${l.kind}.path`]: l.path } : {}),
        ...(l.ssl ? { [`docktray.${l.kind}.ssl`]: "true" } : {}),
      },
    });
  }
  const problems: ServiceProblem[] = PROBLEMS.flatMap((p) => {
    const spec = specs.find((s) => s.name === p.container);
    return spec
      ? [{ host: spec.host, container_id: spec.id, container_name: spec.name, type: p.kind, label: p.label, message: p.message }]
      : [];
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  const reason = "no answer from Caddy's admin API at http://localhost:2019: connection refused or unreachable: is Caddy running, with its admin API at this address ([caddy] admin_url)?";
  const source: SourceStatus = {
    name: "caddy",
    kind: "caddy",
    endpoint: "http://localhost:2019",
    state: caddyDown ? "unreachable" : "up",
    reason: caddyDown ? reason : null,
    consecutive_failures: caddyDown ? 3 : 0,
    next_retry: caddyDown ? iso(now + 8000) : null,
    engine_version: null,
    api_version: null,
    engine_product: null,
    rootless: false,
    stats_note: null,
    stats_method: null,
    since: iso(now - 3 * 3600_000),
    rate_limit: null,
    last_error: caddyDown ? { at: iso(now - 2000), step: "caddy", message: reason } : null,
    errors: caddyDown ? [{ at: iso(now - 2000), step: "caddy", message: reason }] : [],
  };
  const proxy: ProxyStatus = {
    admin_url: "http://localhost:2019",
    server: "srv0",
    http_server: null,
    routes: services
      .filter((s) => s.state === "running")
      .map((s) => ({
        id: s.route_id,
        domain: s.domain,
        path: s.path,
        server: "srv0",
        upstream: s.host === "local" ? `172.18.0.${services.indexOf(s) + 2}:${s.port}` : null,
        state: s.caddy,
        message: s.caddy_message,
      })),
    user_routes: 2,
    stale_removed: 1,
    last_check: iso(now - 4000),
  };
  return { services, problems, proxy, source };
}
