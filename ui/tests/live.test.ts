import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { setBackend } from "../src/lib/ipc";
import { MockBackend } from "../src/lib/mock/backend";
import { live } from "../src/lib/state/live.svelte";

describe("live store", () => {
  let mock: MockBackend;
  let now = Date.parse("2026-01-10T12:00:00Z");
  beforeEach(() => {
    mock = new MockBackend({ now: () => now });
    setBackend(mock);
    live.reset();
  });
  afterEach(() => live.reset());

  test("keeps a bounded ring of samples per container and host", async () => {
    await live.start();
    for (let i = 0; i < 70; i++) {
      now += 2000;
      mock.tick();
    }
    const c = mock.specs[0];
    expect(live.samples(`${c.host}/${c.id}`)).toHaveLength(60);
    expect(live.samples("host:local").length).toBe(60);
  });
});
