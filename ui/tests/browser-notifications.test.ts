// The served page's browser notifications: nothing until the user turns them on and the browser allows them;
// then raised and resolved alert changes are shown, as text.
import { afterEach, describe, expect, test } from "vitest";
import type { AlertTransition } from "../src/lib/bindings/AlertTransition";
import { setBackend, type Backend } from "../src/lib/ipc";
import { browserNotifications } from "../src/web/browserNotifications.svelte";

const shown: { title: string; body: string }[] = [];
let permission: NotificationPermission = "default";
let answer: NotificationPermission = "granted";

class FakeNotification {
  static get permission() {
    return permission;
  }
  static async requestPermission() {
    permission = answer;
    return answer;
  }
  constructor(title: string, options: { body: string }) {
    shown.push({ title, body: options.body });
  }
}
Object.assign(window, { Notification: FakeNotification });

let alertHandler: ((t: AlertTransition) => void) | null = null;
const backend = {
  listen: async (_event: string, handler: (t: AlertTransition) => void) => {
    alertHandler = handler;
    return () => (alertHandler = null);
  },
} as unknown as Backend;

const transition = (kind: AlertTransition["kind"], message: string) =>
  ({ kind, alert: { id: 7, level: "critical", message }, previous_level: null, at: "" }) as unknown as AlertTransition;

afterEach(() => {
  browserNotifications.stop();
  shown.length = 0;
  permission = "default";
  setBackend(null);
});

describe("browser notifications in the served page", () => {
  test("off until the user turns them on; a refusal leaves them off", async () => {
    setBackend(backend);
    answer = "denied";
    await browserNotifications.toggle();
    expect(browserNotifications.on).toBe(false);
    expect(browserNotifications.denied).toBe(true);
    expect(alertHandler).toBeNull();
  });

  test("allowed: raised and resolved changes are shown with the alert's text", async () => {
    setBackend(backend);
    answer = "granted";
    await browserNotifications.toggle();
    expect(browserNotifications.on).toBe(true);
    alertHandler!(transition("raised", "<img src=x onerror=alert(1)> CPU at 99 %"));
    alertHandler!(transition("reminder", "still high"));
    alertHandler!(transition("resolved", "CPU back to normal"));
    expect(shown).toEqual([
      { title: "Docktray: critical", body: "<img src=x onerror=alert(1)> CPU at 99 %" },
      { title: "Resolved", body: "CPU back to normal" },
    ]);
    await browserNotifications.toggle();
    expect(alertHandler).toBeNull();
  });
});
