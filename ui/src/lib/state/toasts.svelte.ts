// Short messages (an action failed, settings saved) announced to screen readers.

export type Toast = { id: number; kind: "info" | "error"; text: string };

class Toasts {
  items = $state<Toast[]>([]);
  private next = 1;

  show(text: string, kind: Toast["kind"] = "info", ms = kind === "error" ? 8000 : 3500): void {
    const id = this.next++;
    this.items = [...this.items, { id, kind, text }];
    setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
