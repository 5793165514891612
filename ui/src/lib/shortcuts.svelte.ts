// The window's keyboard shortcuts: one list for the handlers' documentation and the help overlay (`?`).

/** `keys` as shown: "Alt+2", "Home / End". */
export type Shortcut = { keys: string; what: string };
export type ShortcutGroup = { title: string; items: Shortcut[] };

export const SHORTCUTS: ShortcutGroup[] = [
  {
    title: "Anywhere",
    items: [
      { keys: "?", what: "Show this list of shortcuts" },
      { keys: "Alt+1", what: "Overview" },
      { keys: "Alt+2", what: "Containers" },
      { keys: "Alt+3", what: "Alerts" },
      { keys: "Alt+4", what: "Settings" },
      { keys: "Alt+5", what: "Services" },
      { keys: "Alt+6", what: "Images & volumes" },
      { keys: "Alt+7", what: "Timeline" },
      { keys: "Tab", what: "Next control (Shift+Tab: previous); the first stop skips to the content" },
      { keys: "Enter", what: "Open a link, press a button (Space too)" },
      { keys: "Esc", what: "Close a dialog or this list" },
    ],
  },
  {
    title: "Lists and views",
    items: [
      { keys: "/", what: "Search: the containers filter, the log search" },
      { keys: "← →", what: "Switch between tabs (a container's Stats, Events, Logs ...), time ranges, stream filters" },
      { keys: "Home / End", what: "First / last tab or range" },
    ],
  },
  {
    title: "Log lines (when focused)",
    items: [
      { keys: "↑ ↓", what: "Scroll a line; Page Up / Page Down a page" },
      { keys: "Home", what: "Oldest line (following pauses)" },
      { keys: "End", what: "Newest line, following new lines again" },
    ],
  },
];

/** True when the key went to a text field, where it is typed rather than a shortcut. */
export function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !["checkbox", "radio", "button", "submit", "range"].includes(target.type);
}

/** Whether the shortcuts overlay is open (the `?` key and the sidebar's button open it). */
class ShortcutsHelp {
  open = $state(false);
}

export const shortcutsHelp = new ShortcutsHelp();
