import type { Series } from "../types";

/** uPlot's columnar data: x in seconds, then one column per series (null for a gap). */
export type Columns = [number[], ...(number | null)[][]];

/** Aligns several series (their points' `at`) on the union of their timestamps; missing values are null. */
export function alignSeries(series: Series[], scale: (v: number) => number = (v) => v): Columns {
  const times = new Set<number>();
  const maps = series.map((s) => {
    const map = new Map<number, number>();
    for (const p of s.points) {
      const t = Date.parse(p.at) / 1000;
      if (Number.isNaN(t)) continue;
      times.add(t);
      map.set(t, scale(p.avg));
    }
    return map;
  });
  const xs = [...times].sort((a, b) => a - b);
  return [xs, ...maps.map((m) => xs.map((t) => m.get(t) ?? null))];
}

/** Appends one row to columns, dropping rows older than `keepFrom` (seconds). Returns new arrays. */
export function appendRow(data: Columns, t: number, values: (number | null)[], keepFrom: number): Columns {
  const [xs, ...cols] = data;
  if (xs.length && t <= xs[xs.length - 1]) return data;
  let drop = 0;
  while (drop < xs.length && xs[drop] < keepFrom) drop++;
  const nextX = xs.slice(drop);
  nextX.push(t);
  const nextCols = cols.map((c, i) => {
    const n = c.slice(drop);
    n.push(values[i] ?? null);
    return n;
  });
  return [nextX, ...nextCols];
}
