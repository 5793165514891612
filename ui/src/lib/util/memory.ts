// Whether a container's memory has a limit of its own. Docker reports the host's memory as the limit of a
// container without one; drawn as a limit line, that squashes the usage flat at the bottom of the chart.
import type { ContainerStats } from "../bindings/ContainerStats";
import type { ServerStats } from "../bindings/ServerStats";

const GIB = 1024 ** 3;

/**
 * The container's own memory limit in bytes, or null when it has none (its reported limit is the host's
 * memory, within the 1 % the host figure is rounded to). Without the host's figures the reported limit is taken
 * as it is.
 */
export function ownMemoryLimit(stats: ContainerStats | null | undefined, host: ServerStats | null | undefined): number | null {
  if (!stats || !(stats.memory_limit_bytes > 0)) return null;
  const hostBytes = host ? host.memory.total_gb * GIB : 0;
  if (hostBytes > 0 && stats.memory_limit_bytes >= hostBytes * 0.99) return null;
  return stats.memory_limit_bytes;
}
