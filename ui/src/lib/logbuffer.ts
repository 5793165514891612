// The lines a log view keeps (at most `max`, oldest dropped first) and the subset its filters let through.
// Plain arrays, not reactive: the view bumps a version after each change.
//
// Filtering never blocks the window: new lines are matched as they are appended (a batch at a time), and a new
// search over a large buffer runs in slices between frames (`refilter`), the view filling as it goes.
import type { LogLine } from "./bindings/LogLine";
import { lineMatches, type StreamFilter } from "./util/logfilter";

/** Lines kept per log view; beyond this the oldest are dropped. */
export const MAX_LINES = 100_000;

/** A log view is drawn at most this often while lines arrive (ten times a second). */
export const RENDER_EVERY_MS = 100;
/** Typing in a log view's search box is applied once it pauses this long. */
export const SEARCH_SETTLE_MS = 150;

/** Up to this many lines a new filter is applied at once (a few ms); beyond, in slices. */
export const FILTER_AT_ONCE = 20_000;
/** Lines matched per slice of a sliced filter run. */
export const FILTER_SLICE = 10_000;

export type Scheduler = (run: () => void) => void;

/** Runs `run` after the browser has had a chance to paint and handle input. */
export const nextSlice: Scheduler = (run) => {
  setTimeout(run, 0);
};

export class LogBuffer {
  lines: LogLine[] = [];
  /** The lines that pass the current filter, oldest first. */
  view: LogLine[] = [];
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  /** While a sliced filter run goes on: the share of the buffer searched so far, 0-1; null when none runs. */
  progress: number | null = null;
  private stream: StreamFilter = "all";
  private pattern: RegExp | null = null;
  /** The seq of the next line a sliced run will look at (lines before it are done). */
  private cursor: number | null = null;
  private run = 0;

  constructor(readonly max = MAX_LINES) {}

  private get all(): boolean {
    return this.stream === "all" && !this.pattern;
  }

  /** Applies a filter to the whole buffer at once. */
  setFilter(stream: StreamFilter, pattern: RegExp | null): void {
    this.run++;
    this.stream = stream;
    this.pattern = pattern;
    this.cursor = null;
    this.progress = null;
    this.view = this.all ? this.lines.slice() : this.lines.filter((l) => lineMatches(l, stream, pattern));
  }

  /**
   * Applies a filter: at once for a small buffer, else in slices of FILTER_SLICE lines handed to `schedule`,
   * calling `onSlice` after each (the view holds the matches found so far). Lines appended meanwhile are
   * matched when the run reaches them. A newer call cancels an unfinished run.
   */
  refilter(stream: StreamFilter, pattern: RegExp | null, onSlice: () => void, schedule: Scheduler = nextSlice): void {
    if (this.lines.length <= FILTER_AT_ONCE || (stream === "all" && !pattern)) {
      this.setFilter(stream, pattern);
      onSlice();
      return;
    }
    const run = ++this.run;
    this.stream = stream;
    this.pattern = pattern;
    this.view = [];
    this.cursor = this.lines[0]?.seq ?? 0;
    this.progress = 0;
    const step = () => {
      if (run !== this.run || this.cursor === null) return;
      let i = this.indexOfSeq(this.cursor);
      const end = Math.min(this.lines.length, i + FILTER_SLICE);
      for (; i < end; i++) {
        const line = this.lines[i];
        if (lineMatches(line, this.stream, this.pattern)) this.view.push(line);
      }
      if (end >= this.lines.length) {
        this.cursor = null;
        this.progress = null;
      } else {
        this.cursor = this.lines[end].seq;
        this.progress = end / this.lines.length;
        schedule(step);
      }
      onSlice();
    };
    schedule(step);
  }

  /** The index of the first line whose seq is at least `seq` (seqs increase along the buffer, maybe with gaps). */
  private indexOfSeq(seq: number): number {
    let lo = 0;
    let hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lines[mid].seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  append(batch: LogLine[]): void {
    if (!batch.length) return;
    const all = this.all;
    // While a sliced run goes on, it matches new lines when it reaches them.
    const direct = this.cursor === null;
    for (const line of batch) {
      this.lines.push(line);
      if (direct && (all || lineMatches(line, this.stream, this.pattern))) this.view.push(line);
    }
    // Drop in chunks (5 % over the limit) so each drop is rare.
    if (this.lines.length > this.max + Math.max(1, Math.floor(this.max / 20))) {
      const drop = this.lines.length - this.max;
      this.lines.splice(0, drop);
      this.dropped += drop;
      const oldest = this.lines[0].seq;
      let cut = 0;
      while (cut < this.view.length && this.view[cut].seq < oldest) cut++;
      if (cut) this.view.splice(0, cut);
      if (this.cursor !== null && this.cursor < oldest) this.cursor = oldest;
    }
  }

  clear(): void {
    this.run++;
    this.lines = [];
    this.view = [];
    this.cursor = null;
    this.progress = null;
  }
}
