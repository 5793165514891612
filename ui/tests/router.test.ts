import { describe, expect, test } from "vitest";
import { fromIpcRoute, href, parseHash } from "../src/lib/state/router.svelte";
import { parseDuration, formatDuration } from "../src/lib/util/duration";

describe("routes", () => {
  test("shell routes map to views", () => {
    expect(fromIpcRoute("container:local/abc123")).toEqual({ name: "container", host: "local", id: "abc123", tab: "stats" });
    expect(fromIpcRoute("host:edge-01")).toEqual({ name: "host", host: "edge-01" });
    expect(fromIpcRoute("alerts")).toEqual({ name: "alerts" });
    expect(fromIpcRoute("container:nohost")).toBeNull();
    expect(fromIpcRoute("bogus")).toBeNull();
  });

  test("hash round trip, including odd names", () => {
    const route = { name: "container", host: "my host/1", id: "a#b", tab: "logs" } as const;
    expect(parseHash(href(route))).toEqual(route);
    expect(parseHash("#/nothing")).toEqual({ name: "overview" });
    expect(parseHash("#/container/local/x/bogus")).toEqual({ name: "container", host: "local", id: "x", tab: "stats" });
  });
});

describe("durations", () => {
  test("parse like the engine", () => {
    expect(parseDuration("2s")).toBe(2);
    expect(parseDuration("1m30s")).toBe(90);
    expect(parseDuration("500ms")).toBe(0.5);
    expect(parseDuration("30d")).toBe(2592000);
    expect(parseDuration("10")).toBeNull();
    expect(parseDuration("1 s")).toBeNull();
    expect(parseDuration("")).toBeNull();
  });

  test("format like the engine", () => {
    expect(formatDuration(0.01)).toBe("10ms");
    expect(formatDuration(90)).toBe("90s");
    expect(formatDuration(3600)).toBe("1h");
    expect(formatDuration(300)).toBe("5m");
  });
});
