// One log line as DOM, built directly (no component per row): the log view creates rows for what is on screen
// only, up to ten times a second while following, so each row should cost as little as possible. ANSI colours
// become classes (or a CSSOM colour for 256/true colour), search matches <mark>; every piece of text is a text
// node (textContent), nothing is ever parsed as HTML.
//
// A row can be filled again with another line (`reuse`): the virtual list keeps its row elements and only
// changes what they show. For the common line (plain text, no match, the same stream and time column) that
// changes the data of two text nodes: no element is made, restyled or moved.
import type { LogLine } from "./bindings/LogLine";
import { parseAnsi, type Segment } from "./util/ansi";
import { clock } from "./util/format";
import { highlight, type Piece } from "./util/logfilter";

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

/** What a row shows that a refill of the same shape changes in place. */
interface Parts {
  stream: LogLine["stream"];
  /** The time column's text, when the row has one. */
  time: Text | null;
  /** The line's text when it is one unstyled, unmarked piece; null when the row holds styled pieces. */
  plain: Text | null;
}
const rowParts = new WeakMap<HTMLElement, Parts>();

function isPlain(pieces: Piece[]): boolean {
  if (pieces.length !== 1) return false;
  const [p] = pieces;
  return !p.mark && !p.classes && !p.color && !p.background;
}

/**
 * `<div class="line">` for one log line: stream gutter, optional time, the text with its colours and matches.
 * With `reuse` (a row this function made), that row is filled with the line instead of a new one being made.
 */
export function renderLogRow(line: LogLine, pattern: RegExp | null, timestamps: boolean, reuse?: HTMLElement): HTMLElement {
  const pieces = highlight(segmentsOf(line.text), pattern);
  const plain = isPlain(pieces);
  const parts = reuse ? rowParts.get(reuse) : undefined;
  if (reuse && parts && plain && parts.plain && parts.stream === line.stream && (parts.time !== null) === timestamps) {
    reuse.dataset.seq = String(line.seq);
    if (parts.plain.data !== pieces[0].text) parts.plain.data = pieces[0].text;
    if (parts.time) {
      const time = clock(line.timestamp);
      if (parts.time.data !== time) parts.time.data = time;
    }
    return reuse;
  }
  const row = reuse ?? document.createElement("div");
  row.replaceChildren();
  row.className = line.stream === "stderr" ? "line stderr" : "line";
  row.dataset.seq = String(line.seq);
  const gutter = span("span", "gutter", "");
  gutter.title = line.stream;
  row.append(gutter);
  // Said by screen readers, not shown: the red gutter is not the only sign of stderr.
  if (line.stream === "stderr") row.append(span("span", "sr-only", "stderr:"));
  let time: Text | null = null;
  if (timestamps) {
    const ts = span("span", "ts", "");
    time = document.createTextNode(clock(line.timestamp));
    ts.append(time);
    row.append(ts);
  }
  const text = document.createElement("span");
  text.className = "text";
  let plainText: Text | null = null;
  if (plain) {
    plainText = document.createTextNode(pieces[0].text);
    const el = document.createElement("span");
    el.append(plainText);
    text.append(el);
  } else {
    for (const piece of pieces) {
      const el = span(piece.mark ? "mark" : "span", piece.classes, piece.text);
      if (piece.color) el.style.color = piece.color;
      if (piece.background) el.style.backgroundColor = piece.background;
      text.append(el);
    }
  }
  row.append(text);
  rowParts.set(row, { stream: line.stream, time, plain: plainText });
  return row;
}
