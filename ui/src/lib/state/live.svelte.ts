// What the engine pushes: the latest snapshot, a short ring of samples per container (for sparklines), the
// thresholds (for colours) and a counter that moves on every alert change. The window never polls.
import type { AlertTransition } from "../bindings/AlertTransition";
import type { Config } from "../bindings/Config";
import type { ContainerSnapshot } from "../bindings/ContainerSnapshot";
import type { Snapshot } from "../bindings/Snapshot";
import { errorMessage, getSettings, getSnapshot, onAlert, onSnapshot, type Unlisten } from "../ipc";
import { Ring } from "../util/ring";

export type Sample = { t: number; cpu: number; mem: number; memBytes: number; rx: number; tx: number };

/** Samples kept per container for sparklines. */
export const SPARK_SAMPLES = 60;

export const containerKey = (c: { host: string; id: string }) => `${c.host}/${c.id}`;

/** The snapshot the shell put on the page before its scripts ran, once; null when there is none. */
export function takeFirstSnapshot(): Snapshot | null {
  const holder = window as unknown as { __DOCKTRAY_FIRST_SNAPSHOT__?: Snapshot };
  const first = holder.__DOCKTRAY_FIRST_SNAPSHOT__ ?? null;
  delete holder.__DOCKTRAY_FIRST_SNAPSHOT__;
  return first;
}

export class Live {
  snapshot = $state.raw<Snapshot | null>(null);
  config = $state.raw<Config | null>(null);
  configPath = $state<string | null>(null);
  error = $state<string | null>(null);
  /** Moves whenever the sample rings change. */
  samplesVersion = $state(0);
  /** Moves on every alert event. */
  alertsVersion = $state(0);
  lastTransition = $state.raw<AlertTransition | null>(null);

  private readonly rings = new Map<string, Ring<Sample>>();
  private readonly lastSampled = new Map<string, string>();
  private unlisten: Unlisten[] = [];

  async start(): Promise<void> {
    // The shell hands the page a snapshot with the page itself (src-tauri/src/window.rs): the first frame shows
    // data without waiting for three IPC round trips. A fresh one is asked for below all the same.
    const first = takeFirstSnapshot();
    if (first) this.apply(first);
    this.unlisten.push(await onSnapshot((s) => this.apply(s)));
    this.unlisten.push(
      await onAlert((t) => {
        this.lastTransition = t;
        this.alertsVersion++;
      }),
    );
    try {
      this.apply(await getSnapshot());
      this.error = null;
    } catch (e) {
      this.error = errorMessage(e);
    }
    this.loadSettings().catch(() => {});
  }

  async loadSettings(): Promise<void> {
    const settings = await getSettings();
    this.config = settings.config;
    this.configPath = settings.path;
  }

  stop(): void {
    for (const u of this.unlisten) u();
    this.unlisten = [];
  }

  /** Forgets everything (tests). */
  reset(): void {
    this.stop();
    this.snapshot = null;
    this.config = null;
    this.configPath = null;
    this.error = null;
    this.rings.clear();
    this.lastSampled.clear();
    this.samplesVersion++;
  }

  apply(snapshot: Snapshot): void {
    if (this.snapshot && Date.parse(snapshot.taken_at) < Date.parse(this.snapshot.taken_at)) return;
    let changed = false;
    const seen = new Set<string>();
    for (const c of snapshot.containers) {
      const key = containerKey(c);
      seen.add(key);
      const stats = c.stats;
      if (!stats || this.lastSampled.get(key) === stats.sampled_at) continue;
      this.lastSampled.set(key, stats.sampled_at);
      let ring = this.rings.get(key);
      if (!ring) this.rings.set(key, (ring = new Ring<Sample>(SPARK_SAMPLES)));
      ring.push({ t: Date.parse(stats.sampled_at), cpu: stats.cpu_percent, mem: stats.memory_percent, memBytes: stats.memory_bytes, rx: stats.net_rx_bytes_per_s, tx: stats.net_tx_bytes_per_s });
      changed = true;
    }
    for (const h of snapshot.hosts) {
      const key = `host:${h.server_name}`;
      seen.add(key);
      if (this.lastSampled.get(key) === h.timestamp) continue;
      this.lastSampled.set(key, h.timestamp);
      let ring = this.rings.get(key);
      if (!ring) this.rings.set(key, (ring = new Ring<Sample>(SPARK_SAMPLES)));
      ring.push({ t: Date.parse(h.timestamp), cpu: h.cpu.percent, mem: h.memory.percent, memBytes: 0, rx: h.network.rx_bytes_per_s, tx: h.network.tx_bytes_per_s });
      changed = true;
    }
    for (const key of [...this.rings.keys()]) {
      if (!seen.has(key)) {
        this.rings.delete(key);
        this.lastSampled.delete(key);
      }
    }
    this.snapshot = snapshot;
    if (changed) this.samplesVersion++;
  }

  /** The recent samples of one container (`host/id`) or host (`host:<name>`), reactive through `samplesVersion`. */
  samples(key: string): Sample[] {
    void this.samplesVersion;
    return this.rings.get(key)?.toArray() ?? [];
  }

  container(host: string, id: string): ContainerSnapshot | undefined {
    return this.snapshot?.containers.find((c) => c.host === host && (c.id === id || c.id.startsWith(id) || c.name === id));
  }
}

export const live = new Live();
