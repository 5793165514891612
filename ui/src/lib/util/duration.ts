// Durations as the config file writes them ("500ms", "2s", "1m30s", "1h", "30d"), parsed like the engine does.

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, or null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!trimmed) return null;
  let total = 0;
  const part = /(\d+(?:\.\d+)?|\.\d+)([a-z]+)/gy;
  let end = 0;
  for (let m = part.exec(trimmed); m; m = part.exec(trimmed)) {
    const unit = UNITS[m[2]];
    if (unit === undefined) return null;
    total += Number(m[1]) * unit;
    end = part.lastIndex;
  }
  return end === trimmed.length ? total : null;
}

/** Formats seconds the way the engine does ("1500ms", "2s", "5m", "1h"). */
export function formatDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  if (ms % 1000 !== 0) return `${ms}ms`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** The engine's message for text that is not a duration. */
export function durationMessage(text: string): string {
  return `invalid duration "${text}": expected a duration such as "2s", "500ms" or "1m"`;
}
