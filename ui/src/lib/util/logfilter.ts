import type { LogLine } from "../bindings/LogLine";
import type { Segment } from "./ansi";

export type StreamFilter = "all" | "stdout" | "stderr";

export type Search = { query: string; regex: boolean; caseSensitive: boolean };

/** A compiled search: `pattern` is null when nothing is searched or the regex is invalid (`error` says why). */
export type CompiledSearch = { pattern: RegExp | null; error: string | null };

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function compileSearch({ query, regex, caseSensitive }: Search): CompiledSearch {
  if (!query) return { pattern: null, error: null };
  const flags = caseSensitive ? "g" : "gi";
  if (!regex) return { pattern: new RegExp(escape(query), flags), error: null };
  try {
    return { pattern: new RegExp(query, flags), error: null };
  } catch (e) {
    const detail = e instanceof Error ? e.message.replace(/^Invalid regular expression: /, "") : String(e);
    return { pattern: null, error: `Invalid regular expression: ${detail}` };
  }
}

/** Whether a line passes the stream filter and (when given) the search. */
export function lineMatches(line: LogLine, stream: StreamFilter, pattern: RegExp | null): boolean {
  if (stream !== "all" && line.stream !== stream) return false;
  if (!pattern) return true;
  pattern.lastIndex = 0;
  return pattern.test(line.plain);
}

/** Ranges [start, end) of the non-empty matches of `pattern` in `text`. */
export function matchRanges(text: string, pattern: RegExp): [number, number][] {
  const ranges: [number, number][] = [];
  const re = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g");
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    ranges.push([m.index, m.index + m[0].length]);
    if (ranges.length > 1000) break;
  }
  return ranges;
}

export type Piece = Segment & { mark: boolean };

/** Cuts styled segments at the match boundaries so matches can be wrapped in <mark>. */
export function highlight(segments: Segment[], pattern: RegExp | null): Piece[] {
  if (!pattern) return segments.map((s) => ({ ...s, mark: false }));
  const text = segments.map((s) => s.text).join("");
  const ranges = matchRanges(text, pattern);
  if (ranges.length === 0) return segments.map((s) => ({ ...s, mark: false }));
  const pieces: Piece[] = [];
  let offset = 0;
  let r = 0;
  for (const segment of segments) {
    const start = offset;
    const end = offset + segment.text.length;
    let at = start;
    while (at < end) {
      while (r < ranges.length && ranges[r][1] <= at) r++;
      const range = ranges[r];
      if (!range || range[0] >= end) {
        pieces.push({ ...segment, text: segment.text.slice(at - start), mark: false });
        at = end;
      } else if (range[0] > at) {
        pieces.push({ ...segment, text: segment.text.slice(at - start, range[0] - start), mark: false });
        at = range[0];
      } else {
        const stop = Math.min(range[1], end);
        pieces.push({ ...segment, text: segment.text.slice(at - start, stop - start), mark: true });
        at = stop;
      }
    }
    offset = end;
  }
  return pieces;
}
