// Chart axes that read right: each label has the decimals its tick spacing needs (0.25 % is not "0 %"), one
// unit per axis, and no label twice (a live chart's seconds are shown, a week's days are dates). Pure functions,
// so the charts (uPlot) and the tests share them.

/** The decimals that show `step` exactly (0.25 -> 2, 5 -> 0), at most `max`. */
export function decimalsFor(step: number, max = 6): number {
  if (!Number.isFinite(step) || step <= 0) return 0;
  for (let d = 0; d < max; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return max;
}

/** `value` with `decimals` decimals, never "-0". */
function fixed(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** Percent ticks: "0 %", "0.25 %", "0.5 %" ... with the decimals of the spacing. */
export function percentTicks(ticks: number[], step: number): string[] {
  const d = decimalsFor(step);
  return ticks.map((v) => `${fixed(v, d)} %`);
}

/** Plain number ticks with an optional unit ("12.5 GB", "40"). */
export function numberTicks(ticks: number[], step: number, unit = ""): string[] {
  const d = decimalsFor(step);
  return ticks.map((v) => (unit ? `${fixed(v, d)} ${unit}` : fixed(v, d)));
}

const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * Byte ticks in one unit for the whole axis (the largest tick's), with the decimals the spacing needs in that
 * unit; when that would take more than two decimals the next smaller unit is used. `suffix` is "/s" for rates.
 */
export function byteTicks(ticks: number[], step: number, suffix = ""): string[] {
  const top = Math.max(0, ...ticks.map((v) => Math.abs(v)));
  let unit = 0;
  while (unit < BINARY_UNITS.length - 1 && top >= 1024 ** (unit + 1)) unit++;
  let d = decimalsFor(step / 1024 ** unit);
  while (d > 2 && unit > 0) {
    unit--;
    d = decimalsFor(step / 1024 ** unit);
  }
  d = Math.min(d, 2);
  return ticks.map((v) => (v === 0 ? "0" : `${fixed(v / 1024 ** unit, d)} ${BINARY_UNITS[unit]}${suffix}`));
}

/** Tick spacings in bytes: 1, 2, 4 ... 512 of each binary unit. */
export const BINARY_STEPS: number[] = Array.from(
  { length: 60 },
  (_, i) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512][i % 10] * 1024 ** Math.floor(i / 10),
);

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

/** Time tick spacings (seconds) in the steps a clock is read in. */
const TIME_STEPS = [
  1, 2, 5, 10, 15, 30, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR,
  4 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY,
];

/**
 * The time spacings a chart spanning `spanS` seconds may use. Beyond a day and a half only whole days: with
 * hours over several days, "12:00" would stand under every day.
 */
export function timeSteps(spanS: number): number[] {
  return spanS > 36 * HOUR ? TIME_STEPS.filter((s) => s >= DAY) : TIME_STEPS;
}

/** The smallest spacing of `timeSteps(span)` that keeps ticks at least `space` px apart on `widthPx`. */
export function pickTimeStep(spanS: number, widthPx: number, space: number): number {
  const steps = timeSteps(spanS);
  const perPx = spanS / Math.max(1, widthPx);
  return steps.find((s) => s / perPx >= space) ?? steps[steps.length - 1];
}

/** Minimum px between time ticks: wider once labels may carry a date. */
export function timeSpace(spanS: number): number {
  return spanS > 20 * HOUR ? 72 : 64;
}

/**
 * Tick positions (seconds) between min and max, `step` apart, on the local clock: whole minutes, hours and days
 * as a wall clock shows them (a 6 h step ticks at 00:00, 06:00 ... local time).
 */
export function timeSplits(min: number, max: number, step: number): number[] {
  if (!(max >= min) || step <= 0) return [];
  const out: number[] = [];
  if (step >= DAY) {
    const days = Math.round(step / DAY);
    const d = new Date(min * 1000);
    d.setHours(0, 0, 0, 0);
    // Days counted from a fixed epoch day, so the chosen dates do not move as the window slides.
    while (d.getTime() / 1000 < min) d.setDate(d.getDate() + 1);
    while (dayNumber(d) % days !== 0) d.setDate(d.getDate() + 1);
    for (; d.getTime() / 1000 <= max; d.setDate(d.getDate() + days)) out.push(d.getTime() / 1000);
    return out;
  }
  // Sub-day steps divide a day evenly; align them to the local day's start.
  const offset = -new Date(min * 1000).getTimezoneOffset() * 60;
  let t = Math.ceil((min + offset) / step) * step - offset;
  for (; t <= max; t += step) out.push(t);
  return out;
}

function dayNumber(d: Date): number {
  return Math.round(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / (DAY * 1000));
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad2 = (n: number) => String(n).padStart(2, "0");

const dayText = (d: Date) => `${MONTHS[d.getMonth()]} ${d.getDate()}`;
const dayKey = (d: Date) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;

/**
 * Time tick labels: "14:05:30" when ticks are seconds apart, "14:05" for minutes and hours, "Nov 23" for days
 * (and at midnight). Should two ticks read the same (a span just over a day), the first tick of each day gets
 * its date ("Nov 22 21:00"), and failing that every tick does.
 */
export function timeTicks(splits: number[], step: number): string[] {
  const dates = splits.map((s) => new Date(s * 1000));
  const clock = (d: Date) =>
    step < MINUTE || d.getSeconds() !== 0
      ? `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
      : `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  const midnight = (d: Date) => d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
  if (step >= DAY) return unique(dates.map(dayText), () => dates.map((d) => `${dayText(d)} ${d.getFullYear()}`));
  const plain = dates.map((d) => (midnight(d) ? dayText(d) : clock(d)));
  return unique(plain, () => {
    const firstOfDay = dates.map((d, i) => (midnight(d) ? dayText(d) : i === 0 || dayKey(dates[i - 1]) !== dayKey(d) ? `${dayText(d)} ${clock(d)}` : clock(d)));
    return unique(firstOfDay, () => {
      const dated = dates.map((d) => (midnight(d) ? dayText(d) : `${dayText(d)} ${clock(d)}`));
      // The hour that comes twice when the clocks go back: the two are told apart by their UTC offset.
      return unique(dated, () => dated.map((l, i) => (dated.indexOf(l) !== dated.lastIndexOf(l) ? `${l} ${utcOffset(dates[i])}` : l)));
    });
  });
}

/** "UTC+1", "UTC+5:30" for the local clock at `d`. */
function utcOffset(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `UTC${sign}${Math.floor(abs / 60)}${abs % 60 ? `:${pad2(abs % 60)}` : ""}`;
}

function unique(labels: string[], otherwise: () => string[]): string[] {
  return new Set(labels).size === labels.length ? labels : otherwise();
}

/** The time of one sample for a legend or summary: "Nov 23 14:05:30". */
export function sampleTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${dayText(d)} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** What a chart's y axis shows: chooses its tick labels and spacings. */
export type AxisUnit =
  | { kind: "percent" }
  | { kind: "bytes"; perSecond?: boolean }
  | { kind: "number"; unit?: string };

/** Tick labels for a y axis of `unit`. */
export function valueTicks(unit: AxisUnit, ticks: number[], step: number): string[] {
  switch (unit.kind) {
    case "percent":
      return percentTicks(ticks, step);
    case "bytes":
      return byteTicks(ticks, step, unit.perSecond ? "/s" : "");
    case "number":
      return numberTicks(ticks, step, unit.unit ?? "");
  }
}
