// Shared set-up: a fresh mock backend per test, the live store fed from it.
import { tick } from "svelte";
import type { LogLine } from "../src/lib/bindings/LogLine";
import { setBackend } from "../src/lib/ipc";
import { MockBackend } from "../src/lib/mock/backend";
import { live } from "../src/lib/state/live.svelte";
import { stripAnsi } from "../src/lib/util/ansi";

export const T0 = Date.parse("2026-01-10T12:00:00Z");

export type Clock = { now: number };

export function setup(): { mock: MockBackend; clock: Clock } {
  const clock = { now: T0 };
  const mock = new MockBackend({ now: () => clock.now });
  setBackend(mock);
  live.reset();
  live.apply(mock.snapshot());
  live.config = structuredClone(mock.config);
  return { mock, clock };
}

export function teardown(): void {
  live.reset();
  setBackend(null);
}

export function line(seq: number, text: string, stream: LogLine["stream"] = "stdout"): LogLine {
  return { seq, timestamp: new Date(T0 + seq * 1000).toISOString(), stream, text, plain: stripAnsi(text) };
}

/** Lets pending promises and Svelte updates settle. */
export async function settle(times = 3): Promise<void> {
  for (let i = 0; i < times; i++) {
    await Promise.resolve();
    await tick();
  }
}

/** Texts of the rendered log lines. */
export function logTexts(root: HTMLElement): string[] {
  return [...root.querySelectorAll(".line .text")].map((el) => el.textContent ?? "");
}

/** Puts one row element (lib/logrow.ts) into the document; `container` is its parent. */
export function mountRow(row: HTMLElement): { container: HTMLElement } {
  const container = document.createElement("div");
  container.append(row);
  document.body.append(container);
  return { container };
}
