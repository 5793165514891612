// One pending confirmation at a time for the workbench panels: what the dialog says, and what runs on Confirm.

export type Pending = {
  title: string;
  message: string;
  label: string;
  danger: boolean;
  run: () => Promise<void>;
};

export class Confirmation {
  pending = $state<Pending | null>(null);
  busy = $state(false);

  ask(pending: Pending): void {
    this.pending = pending;
  }

  cancel(): void {
    this.pending = null;
  }

  async confirm(): Promise<void> {
    const pending = this.pending;
    this.pending = null;
    if (!pending) return;
    this.busy = true;
    try {
      await pending.run();
    } finally {
      this.busy = false;
    }
  }
}
