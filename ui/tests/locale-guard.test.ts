import { describe, expect, it } from "vitest";
import { usableLanguage } from "../src/lib/locale-guard";

describe("locale guard", () => {
  it("keeps valid language tags", () => {
    expect(usableLanguage("de-DE")).toBe("de-DE");
    expect(usableLanguage("en-US")).toBe("en-US");
  });

  it("replaces the C locale and empty tags that Intl rejects", () => {
    expect(() => new Intl.NumberFormat("C")).toThrow(RangeError);
    expect(usableLanguage("C")).toBe("en-US");
    expect(usableLanguage("")).toBe("en-US");
    expect(usableLanguage(undefined)).toBe("en-US");
  });
});
