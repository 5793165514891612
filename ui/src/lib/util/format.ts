// Numbers, sizes and times for people.

const BINARY = ["B", "KiB", "MiB", "GiB", "TiB"];

export function bytes(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  let v = Math.abs(value);
  let unit = 0;
  while (v >= 1024 && unit < BINARY.length - 1) {
    v /= 1024;
    unit++;
  }
  const shown = unit === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : digits);
  return `${value < 0 ? "-" : ""}${shown} ${BINARY[unit]}`;
}

export function rate(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : `${bytes(value)}/s`;
}

export function gb(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} GB` : `${value.toFixed(1)} GB`;
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${value.toFixed(value >= 100 ? 0 : digits)} %`;
}

export function num(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toFixed(digits);
}

/** "3d 4h", "5h 12m", "42m", "12s". */
export function span(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

/** "5m ago" from an RFC 3339 time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "–";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "–";
  const s = (now - t) / 1000;
  return s < 5 ? "just now" : `${span(s)} ago`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Local "YYYY-MM-DD HH:MM:SS". */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local "HH:MM:SS.mmm" for log lines. */
export function clock(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
