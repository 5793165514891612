// SSH hosts in the window: which sources are remote hosts, how their states and failed steps read, and how the
// containers table groups by host.
import type { ContainerSnapshot } from "./bindings/ContainerSnapshot";
import type { ErrorStep } from "./bindings/ErrorStep";
import type { SourceState } from "./bindings/SourceState";
import type { SourceStatus } from "./bindings/SourceStatus";

/** The local engine's name everywhere. */
export const LOCAL_HOST = "local";

/** The Docker sources of remote SSH hosts (not the local engine, not Webdock accounts). */
export function remoteSources(sources: SourceStatus[]): SourceStatus[] {
  return sources.filter((s) => s.kind === "docker" && s.name !== LOCAL_HOST);
}

export const STATE_LABEL: Record<SourceState, string> = {
  connecting: "connecting",
  up: "up",
  degraded: "degraded",
  unreachable: "unreachable",
};

export const STATE_TONE: Record<SourceState, string> = {
  connecting: "info",
  up: "ok",
  degraded: "warning",
  unreachable: "critical",
};

export const STEP_LABEL: Record<ErrorStep, string> = {
  dns: "DNS",
  tcp: "TCP",
  host_key: "host key",
  auth: "SSH login",
  ssh: "SSH",
  socket_missing: "Docker socket missing",
  socket_permission: "Docker socket permission",
  docker: "Docker",
  docker_version: "Docker version",
  host_stats: "host stats",
  caddy: "Caddy",
};

/** How an engine is named wherever it is shown: "Podman 4.3.1 (rootless)", "Docker 27.3.1"; null until known. */
export function engineLabel(source: SourceStatus): string | null {
  if (!source.engine_version) return null;
  const name = source.engine_product === "podman" ? "Podman" : "Docker";
  return `${name} ${source.engine_version}${source.rootless ? " (rootless)" : ""}`;
}

/** Every host name: those with containers and the configured Docker sources, local first, then by name. */
export function hostNames(containers: ContainerSnapshot[], sources: SourceStatus[]): string[] {
  const names = new Set([...containers.map((c) => c.host), ...sources.filter((s) => s.kind === "docker").map((s) => s.name)]);
  return [...names].sort((a, b) => (a === LOCAL_HOST ? -1 : b === LOCAL_HOST ? 1 : a.localeCompare(b)));
}
