// IPC shapes of docs/ipc.md. The payloads are generated from the shell's Rust types (ts-rs, in bindings/);
// this file only names them in one place and adds the few the window composes itself.
import type { Level } from "./bindings/Level";

export type { HistoryRange } from "./bindings/HistoryRange";
export type { HistoryTarget } from "./bindings/HistoryTarget";
export type { LogSubscription } from "./bindings/LogSubscription";
export type { LogsBatch } from "./bindings/LogsBatch";
export type { Series } from "./bindings/Series";
export type { SeriesPoint } from "./bindings/SeriesPoint";
export type { Settings } from "./bindings/Settings";
export type { Validation } from "./bindings/Validation";

/** `list_alerts` arguments (camelCase, as Tauri passes command arguments). */
export type AlertQuery = { activeOnly: boolean; level: Level | null; since: string | null };
