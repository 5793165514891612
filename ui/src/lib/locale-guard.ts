// WebKitGTK reports the process locale as the page language; under LANG=C (common on servers and minimal
// desktops) that is "C", which is not a BCP 47 tag, and `new Intl.NumberFormat("C")` throws. uPlot formats
// numbers with navigator.language when its module loads, so a bad tag would leave the window blank.
// Imported first by main.ts, before anything that formats numbers.

export function usableLanguage(tag: string | undefined): string {
  if (!tag) return "en-US";
  try {
    new Intl.NumberFormat(tag);
    return tag;
  } catch {
    return "en-US";
  }
}

if (typeof navigator !== "undefined") {
  const language = usableLanguage(navigator.language);
  if (language !== navigator.language) {
    Object.defineProperty(navigator, "language", { value: language, configurable: true });
    Object.defineProperty(navigator, "languages", { value: [language], configurable: true });
  }
}
