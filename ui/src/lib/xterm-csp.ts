// xterm's DOM renderer writes its layout and colour rules into <style> elements, which the window's CSP
// (style-src 'self', no inline styles) refuses to apply. This mirrors each such element into a constructable
// stylesheet adopted by the document (CSSOM, which CSP allows), so the terminal renders and the CSP stays strict.

/** Mirrors the <style> elements under `root` (and any added to <head>) until the returned function is called. */
export function mirrorInlineStyles(root: HTMLElement): () => void {
  if (typeof CSSStyleSheet === "undefined" || !("adoptedStyleSheets" in document)) return () => {};
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>();
  const adopt = (sheet: CSSStyleSheet, on: boolean) => {
    const others = document.adoptedStyleSheets.filter((s) => s !== sheet);
    document.adoptedStyleSheets = on ? [...others, sheet] : others;
  };
  const sync = () => {
    const present = new Set([...root.querySelectorAll("style"), ...document.head.querySelectorAll("style")]);
    for (const element of present) {
      let sheet = sheets.get(element);
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheets.set(element, sheet);
        adopt(sheet, true);
      }
      try {
        sheet.replaceSync(element.textContent ?? "");
      } catch {
        // A rule the engine does not understand: keep the previous ones.
      }
    }
    for (const [element, sheet] of sheets) {
      if (!present.has(element)) {
        adopt(sheet, false);
        sheets.delete(element);
      }
    }
  };
  const observer = new MutationObserver(sync);
  for (const target of [root, document.head]) {
    observer.observe(target, { subtree: true, childList: true, characterData: true });
  }
  sync();
  return () => {
    observer.disconnect();
    for (const sheet of sheets.values()) adopt(sheet, false);
    sheets.clear();
  };
}
