// The served page's desktop-like alerts: the browser's own notifications, only after the user turns them on here
// and the browser's permission prompt is answered "allow". They follow the pushed alert changes (no polling).
import { onAlert, type Unlisten } from "../lib/ipc";
import type { AlertTransition } from "../lib/bindings/AlertTransition";

const SHOWN: AlertTransition["kind"][] = ["raised", "escalated", "resolved"];

class BrowserNotifications {
  on = $state(false);
  denied = $state(false);
  private off: Unlisten | null = null;

  get supported(): boolean {
    return typeof window !== "undefined" && "Notification" in window;
  }

  async toggle(): Promise<void> {
    if (this.on) return this.stop();
    if (!this.supported) return;
    const answer = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
    this.denied = answer === "denied";
    if (answer !== "granted") return;
    this.off = await onAlert((t) => this.show(t));
    this.on = true;
  }

  stop(): void {
    this.off?.();
    this.off = null;
    this.on = false;
  }

  private show(transition: AlertTransition): void {
    if (!SHOWN.includes(transition.kind) || Notification.permission !== "granted") return;
    const title = transition.kind === "resolved" ? "Resolved" : `Docktray: ${transition.alert.level}`;
    // Text only: the notification API never renders markup.
    new Notification(title, { body: transition.alert.message, tag: `docktray-${transition.alert.id}` });
  }
}

export const browserNotifications = new BrowserNotifications();
