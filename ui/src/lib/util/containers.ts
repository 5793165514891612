// Filtering, sorting and grouping of the containers table (pure, so it is easy to test).
import type { ContainerSnapshot } from "../bindings/ContainerSnapshot";
import type { PortMapping } from "../bindings/PortMapping";

export type SortKey = "name" | "image" | "state" | "cpu" | "memory";
export type SortDir = "asc" | "desc";
export type StateFilter = "all" | "running" | "stopped" | "paused" | "unhealthy";

/** Containers of one host grouped by compose project, else by Podman pod (`pod`), else standalone (both null). */
export type Group = { key: string; host: string; project: string | null; pod: string | null; containers: ContainerSnapshot[] };

const STATE_ORDER: Record<string, number> = { running: 0, restarting: 1, paused: 2, created: 3, exited: 4, dead: 5, removing: 6, unknown: 7 };

export function matchesState(c: ContainerSnapshot, filter: StateFilter): boolean {
  switch (filter) {
    case "all":
      return true;
    case "running":
      return c.state === "running" || c.state === "restarting";
    case "paused":
      return c.state === "paused";
    case "stopped":
      return c.state === "exited" || c.state === "dead" || c.state === "created";
    case "unhealthy":
      return c.health === "unhealthy";
  }
}

/** Case-insensitive text match on name, image, compose project and service; every word must match. */
export function matchesText(c: ContainerSnapshot, text: string): boolean {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const hay = [c.name, c.image, c.compose_project ?? "", c.compose_service ?? "", c.id.slice(0, 12)].join(" ").toLowerCase();
  return words.every((w) => hay.includes(w));
}

export function filterContainers(
  list: ContainerSnapshot[],
  text: string,
  state: StateFilter,
  host: string | null = null,
): ContainerSnapshot[] {
  return list.filter((c) => (!host || c.host === host) && matchesState(c, state) && matchesText(c, text));
}

function sortValue(c: ContainerSnapshot, key: SortKey): number | string {
  switch (key) {
    case "name":
      return c.name.toLowerCase();
    case "image":
      return c.image.toLowerCase();
    case "state":
      return STATE_ORDER[c.state] ?? 9;
    case "cpu":
      return c.stats?.cpu_percent ?? -1;
    case "memory":
      return c.stats?.memory_bytes ?? -1;
  }
}

export function sortContainers(list: ContainerSnapshot[], key: SortKey, dir: SortDir): ContainerSnapshot[] {
  const sign = dir === "asc" ? 1 : -1;
  return [...list].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    const order = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
    return order !== 0 ? order * sign : a.name.localeCompare(b.name);
  });
}

/** Groups by host and compose project (else Podman pod), keeping the given order inside a group; standalone last. */
export function groupByProject(list: ContainerSnapshot[]): Group[] {
  const groups = new Map<string, Group>();
  for (const c of list) {
    const project = c.compose_project;
    const pod = project === null ? (c.pod ?? null) : null;
    const key = `${c.host}\u0000${project ?? ""}\u0000${pod ?? ""}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { key, host: c.host, project, pod, containers: [] }));
    group.containers.push(c);
  }
  const name = (g: Group) => g.project ?? g.pod;
  return [...groups.values()].sort((a, b) => {
    if (a.host !== b.host) return a.host === "local" ? -1 : b.host === "local" ? 1 : a.host.localeCompare(b.host);
    if ((name(a) === null) !== (name(b) === null)) return name(a) === null ? 1 : -1;
    return (name(a) ?? "").localeCompare(name(b) ?? "");
  });
}

export function portText(p: PortMapping): string {
  return p.host_port ? `${p.host_port}→${p.container_port}/${p.protocol}` : `${p.container_port}/${p.protocol}`;
}
