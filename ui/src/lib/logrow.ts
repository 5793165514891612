// One log line as DOM, built directly (no component per row): the log view creates rows for what is on screen
// only, up to ten times a second while following, so each row should cost as little as possible. ANSI colours
// become classes (or a CSSOM colour for 256/true colour), search matches <mark>; every piece of text is a text
// node (textContent), nothing is ever parsed as HTML.
import type { LogLine } from "./bindings/LogLine";
import { parseAnsi, type Segment } from "./util/ansi";
import { clock } from "./util/format";
import { highlight } from "./util/logfilter";

/** Segments of a line's text; a line without escape or control characters is one plain segment. */
export function segmentsOf(text: string): Segment[] {
  // eslint-disable-next-line no-control-regex
  if (!/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) return text ? [{ text, classes: "", color: null, background: null }] : [];
  return parseAnsi(text);
}

function span(tag: "span" | "mark", className: string, text: string): HTMLElement {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.textContent = text;
  return el;
}

/** `<div class="line">` for one log line: stream gutter, optional time, the text with its colours and matches. */
export function renderLogRow(line: LogLine, pattern: RegExp | null, timestamps: boolean): HTMLDivElement {
  const row = document.createElement("div");
  row.className = line.stream === "stderr" ? "line stderr" : "line";
  row.dataset.seq = String(line.seq);
  const gutter = span("span", "gutter", "");
  gutter.title = line.stream;
  row.append(gutter);
  // Said by screen readers, not shown: the red gutter is not the only sign of stderr.
  if (line.stream === "stderr") row.append(span("span", "sr-only", "stderr:"));
  if (timestamps) row.append(span("span", "ts", clock(line.timestamp)));
  const text = document.createElement("span");
  text.className = "text";
  for (const piece of highlight(segmentsOf(line.text), pattern)) {
    const el = span(piece.mark ? "mark" : "span", piece.classes, piece.text);
    if (piece.color) el.style.color = piece.color;
    if (piece.background) el.style.backgroundColor = piece.background;
    text.append(el);
  }
  row.append(text);
  return row;
}
