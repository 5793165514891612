// Forecasts of one target from the snapshot, and the dashed projection a chart draws for one.
import type { Forecast } from "./bindings/Forecast";
import type { ForecastKind } from "./bindings/ForecastKind";
import type { Snapshot } from "./bindings/Snapshot";

export type ForecastTarget = { kind: "container"; host: string; id: string } | { kind: "host"; name: string };

/** The target's forecasts (a host's also include its disks and its VPS quota), rising ones first. */
export function forecastsOf(snapshot: Snapshot | null, target: ForecastTarget): Forecast[] {
  const all = snapshot?.forecasts ?? [];
  const mine = all.filter((f) =>
    target.kind === "container"
      ? f.target.kind === "container" && f.target.host === target.host && f.target.id === target.id
      : f.target.kind !== "container" && (f.target.host === target.name || f.target.name === target.name),
  );
  return mine.sort((a, b) => Number(b.state === "rising") - Number(a.state === "rising"));
}

/** The forecast a chart of `kind` shows dashed (for disks, the root file system's), when it is rising. */
export function projectionOf(forecasts: Forecast[], kind: ForecastKind, scale = 1) {
  const f = forecasts.find((x) => x.kind === kind && x.state === "rising" && (kind !== "disk" || x.detail === "/" || x.detail === null));
  if (!f) return null;
  return {
    from: Date.parse(f.computed_at) / 1000,
    value: f.current * scale,
    perSecond: (f.slope_per_hour / 3600) * scale,
    label: "Projection",
  };
}

const KIND_LABEL: Record<ForecastKind, string> = { disk: "Disk", memory: "Memory", network_quota: "Network quota" };

/** "Memory: grows about 40 MB/h, reaches its limit in about 9 h" (text, never HTML). */
export function forecastText(f: Forecast): string {
  const what = f.kind === "disk" && f.detail ? `Disk ${f.detail}` : KIND_LABEL[f.kind];
  return `${what}: ${f.summary}`;
}
