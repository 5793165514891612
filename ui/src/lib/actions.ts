// Whether this window may change things. The desktop window always may; the page `docktray serve` serves may only
// when the server has `[api] allow_actions = true` (it says so at sign-in: lib/http/session.svelte.ts). Views
// disable what would be refused and say why, instead of offering a button that fails.
import { webSession } from "./http/session.svelte";
import { inServedPage } from "./ipc";

export const ACTIONS_OFF =
  "Actions are off on this server: set allow_actions = true in [api] of its config file (or DOCKTRAY_API__ALLOW_ACTIONS=true) and restart docktray serve.";

/** Why changes are refused here, or null when they are allowed. Reactive: read it in a template or $derived. */
export function actionsOff(): string | null {
  return inServedPage() && !webSession.allowActions ? ACTIONS_OFF : null;
}
