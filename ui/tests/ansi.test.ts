import { describe, expect, test } from "vitest";
import { parseAnsi, stripAnsi } from "../src/lib/util/ansi";
import { renderLogRow } from "../src/lib/logrow";
import { line, mountRow } from "./helpers";

describe("ANSI SGR parsing", () => {
  test("plain text is one unstyled segment", () => {
    expect(parseAnsi("hello")).toEqual([{ text: "hello", classes: "", color: null, background: null }]);
  });

  test("basic, bright and reset colours become classes", () => {
    const segs = parseAnsi("\x1b[32mINFO\x1b[0m \x1b[1;91mFAIL\x1b[39m done");
    expect(segs.map((s) => [s.text, s.classes])).toEqual([
      ["INFO", "ansi-fg-2"],
      [" ", ""],
      ["FAIL", "ansi-fg-9 ansi-bold"],
      [" done", "ansi-bold"],
    ]);
  });

  test("256-colour and true colour become CSS colours", () => {
    const [a, b, c] = parseAnsi("\x1b[38;5;208mA\x1b[48;2;10;20;30mB\x1b[38;5;3mC");
    expect(a.color).toBe("rgb(255, 135, 0)");
    expect(b.background).toBe("rgb(10, 20, 30)");
    expect(c.classes).toContain("ansi-fg-3");
    expect(c.color).toBeNull();
  });

  test("background, dim, italic, underline and their resets", () => {
    const segs = parseAnsi("\x1b[41;2;3;4mX\x1b[22;23;24;49mY");
    expect(segs[0].classes.split(" ").sort()).toEqual(["ansi-bg-1", "ansi-dim", "ansi-italic", "ansi-underline"]);
    expect(segs[1].classes).toBe("");
  });

  test("other escape sequences and control characters are dropped", () => {
    expect(stripAnsi("\x1b]0;title\x07a\x1b[2Kb\x1b[1Gc\x00d\te")).toBe("abcd\te");
  });

  test("an unfinished sequence does not swallow text before it", () => {
    expect(stripAnsi("ok \x1b[")).toBe("ok ");
  });
});

describe("ANSI rendering", () => {
  test("a coloured line renders spans with the colour classes and styles", () => {
    const { container } = mountRow(renderLogRow(line(1, "\x1b[31merror\x1b[0m plain \x1b[38;2;1;2;3mtrue\x1b[0m"), null, false));
    const spans = [...container.querySelectorAll(".text span")] as HTMLElement[];
    expect(spans.map((s) => s.textContent)).toEqual(["error", " plain ", "true"]);
    expect(spans[0].classList.contains("ansi-fg-1")).toBe(true);
    expect(spans[2].style.color).toBe("rgb(1, 2, 3)");
    expect(container.textContent).not.toContain("\x1b");
  });

  test("search matches across colour boundaries are marked", () => {
    const { container } = mountRow(renderLogRow(line(1, "\x1b[32mfoo\x1b[0mbar baz"), /obar/g, false));
    const marks = [...container.querySelectorAll("mark")];
    expect(marks.map((m) => m.textContent).join("")).toBe("obar");
    expect(marks[0].classList.contains("ansi-fg-2")).toBe(true);
  });
});
