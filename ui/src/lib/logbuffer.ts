// The lines a log view keeps (at most `max`, oldest dropped first) and the subset its filters let through.
// Plain arrays, not reactive: the view bumps a version after each change.
import type { LogLine } from "./bindings/LogLine";
import { lineMatches, type StreamFilter } from "./util/logfilter";

/** Lines kept per log view; beyond this the oldest are dropped. */
export const MAX_LINES = 100_000;

export class LogBuffer {
  lines: LogLine[] = [];
  /** The lines that pass the current filter, oldest first. */
  view: LogLine[] = [];
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  private stream: StreamFilter = "all";
  private pattern: RegExp | null = null;

  constructor(readonly max = MAX_LINES) {}

  setFilter(stream: StreamFilter, pattern: RegExp | null): void {
    this.stream = stream;
    this.pattern = pattern;
    this.view = stream === "all" && !pattern ? this.lines.slice() : this.lines.filter((l) => lineMatches(l, stream, pattern));
  }

  append(batch: LogLine[]): void {
    if (!batch.length) return;
    const all = this.stream === "all" && !this.pattern;
    for (const line of batch) {
      this.lines.push(line);
      if (all || lineMatches(line, this.stream, this.pattern)) this.view.push(line);
    }
    // Drop in chunks (5 % over the limit) so each drop is rare.
    if (this.lines.length > this.max + Math.max(1, Math.floor(this.max / 20))) {
      const drop = this.lines.length - this.max;
      const gone = new Set(this.lines.slice(0, drop));
      this.lines.splice(0, drop);
      this.dropped += drop;
      let cut = 0;
      while (cut < this.view.length && gone.has(this.view[cut])) cut++;
      if (cut) this.view.splice(0, cut);
    }
  }

  clear(): void {
    this.lines = [];
    this.view = [];
  }
}
