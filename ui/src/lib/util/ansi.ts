// ANSI SGR colour codes in log lines, turned into styled segments. The window renders each segment as a text
// node inside a <span> with classes (the 16 basic colours) or a CSSOM colour (256-colour and true colour);
// nothing here ever becomes HTML.

export type Segment = {
  text: string;
  /** Space-separated classes: ansi-fg-N, ansi-bg-N (0-15), ansi-bold, ansi-dim, ansi-italic, ansi-underline. */
  classes: string;
  /** CSS colour for 256-colour and 24-bit foregrounds, else null. */
  color: string | null;
  background: string | null;
};

type Colour = { index: number } | { css: string } | null;

type Style = {
  fg: Colour;
  bg: Colour;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
  strike: boolean;
};

const plain = (): Style => ({
  fg: null,
  bg: null,
  bold: false,
  dim: false,
  italic: false,
  underline: false,
  inverse: false,
  strike: false,
});

const CUBE = [0, 95, 135, 175, 215, 255];

/** CSS colour of xterm 256-colour index 16-255. */
function xterm256(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  const i = n - 16;
  return `rgb(${CUBE[Math.floor(i / 36)]}, ${CUBE[Math.floor(i / 6) % 6]}, ${CUBE[i % 6]})`;
}

function extended(params: number[], at: number): { colour: Colour; used: number } {
  const mode = params[at + 1];
  if (mode === 5 && at + 2 < params.length) {
    const n = params[at + 2];
    if (n >= 0 && n < 16) return { colour: { index: n }, used: 2 };
    if (n >= 16 && n < 256) return { colour: { css: xterm256(n) }, used: 2 };
    return { colour: null, used: 2 };
  }
  if (mode === 2 && at + 4 < params.length) {
    const [r, g, b] = params.slice(at + 2, at + 5).map((v) => Math.min(255, Math.max(0, v)));
    return { colour: { css: `rgb(${r}, ${g}, ${b})` }, used: 4 };
  }
  return { colour: null, used: params.length - at };
}

function apply(style: Style, params: number[]): void {
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) Object.assign(style, plain());
    else if (p === 1) style.bold = true;
    else if (p === 2) style.dim = true;
    else if (p === 3) style.italic = true;
    else if (p === 4) style.underline = true;
    else if (p === 7) style.inverse = true;
    else if (p === 9) style.strike = true;
    else if (p === 21 || p === 22) {
      style.bold = false;
      style.dim = false;
    } else if (p === 23) style.italic = false;
    else if (p === 24) style.underline = false;
    else if (p === 27) style.inverse = false;
    else if (p === 29) style.strike = false;
    else if (p >= 30 && p <= 37) style.fg = { index: p - 30 };
    else if (p === 38) {
      const { colour, used } = extended(params, i);
      style.fg = colour;
      i += used;
    } else if (p === 39) style.fg = null;
    else if (p >= 40 && p <= 47) style.bg = { index: p - 40 };
    else if (p === 48) {
      const { colour, used } = extended(params, i);
      style.bg = colour;
      i += used;
    } else if (p === 49) style.bg = null;
    else if (p >= 90 && p <= 97) style.fg = { index: p - 90 + 8 };
    else if (p >= 100 && p <= 107) style.bg = { index: p - 100 + 8 };
  }
}

function toSegment(text: string, style: Style): Segment {
  let fg = style.fg;
  let bg = style.bg;
  if (style.inverse) [fg, bg] = [bg ?? { css: "var(--bg)" }, fg ?? { css: "var(--fg)" }];
  const classes: string[] = [];
  if (fg && "index" in fg) classes.push(`ansi-fg-${fg.index}`);
  if (bg && "index" in bg) classes.push(`ansi-bg-${bg.index}`);
  if (style.bold) classes.push("ansi-bold");
  if (style.dim) classes.push("ansi-dim");
  if (style.italic) classes.push("ansi-italic");
  if (style.underline) classes.push("ansi-underline");
  if (style.strike) classes.push("ansi-strike");
  return {
    text,
    classes: classes.join(" "),
    color: fg && "css" in fg ? fg.css : null,
    background: bg && "css" in bg ? bg.css : null,
  };
}

/** Splits a line into styled segments; escape sequences other than SGR (cursor moves, titles) are dropped. */
export function parseAnsi(line: string): Segment[] {
  const segments: Segment[] = [];
  const style = plain();
  let text = "";
  const flush = () => {
    if (text) segments.push(toSegment(text, style));
    text = "";
  };
  let i = 0;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c !== 0x1b) {
      // Other control characters (except tab) would render as boxes.
      if (c >= 0x20 || c === 0x09) text += line[i];
      i++;
      continue;
    }
    const next = line[i + 1];
    if (next === "[") {
      // CSI: parameter bytes 0x30-0x3f, intermediates 0x20-0x2f, final byte 0x40-0x7e.
      let j = i + 2;
      while (j < line.length && line.charCodeAt(j) >= 0x20 && line.charCodeAt(j) <= 0x3f) j++;
      const final = line[j];
      if (final === "m") {
        const body = line.slice(i + 2, j);
        if (/^[\d;:]*$/.test(body)) {
          flush();
          const params = body === "" ? [] : body.split(/[;:]/).map((v) => (v === "" ? 0 : Number(v)));
          apply(style, params);
        }
      }
      i = j + 1;
    } else if (next === "]") {
      // OSC: ends with BEL or ESC \.
      let j = i + 2;
      while (j < line.length && line[j] !== "\x07" && !(line[j] === "\x1b" && line[j + 1] === "\\")) j++;
      i = line[j] === "\x07" ? j + 1 : j + 2;
    } else {
      i += 2;
    }
  }
  flush();
  return segments;
}

/** The text without escape sequences, as the segments show it. */
export function stripAnsi(line: string): string {
  return parseAnsi(line)
    .map((s) => s.text)
    .join("");
}
