// The window's exports in the page: the server writes the file (api/v1/timeline/export, api/v1/history/export:
// the formats and columns of the desktop's exports) and the browser saves it as a download under the name the
// export dialog shows, instead of a path on the server's disk.
import type { ExportKind } from "../bindings/ExportKind";
import type { Exported } from "../bindings/Exported";
import type { HistoryTarget } from "../bindings/HistoryTarget";

/** The header of an export that says how many rows it holds. */
const ROWS_HEADER = "x-docktray-rows";

/** A file name as the desktop proposes one (`docktray-web-1-cpu-20261204-120000.csv`), without a folder: the
 * browser saves into its downloads. */
export function exportFileName(stem: string, kind: ExportKind, now = new Date()): string {
  const safe = stem.replace(/[^A-Za-z0-9_-]/g, "-");
  const two = (n: number) => String(n).padStart(2, "0");
  const stamp =
    `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}-` +
    `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  return `docktray-${safe}-${stamp}.${kind}`;
}

/** The name to save under: what the user typed, without any folder part. */
function fileName(typed: string, kind: ExportKind): string {
  const base = typed.split(/[\\/]/).pop()?.trim() ?? "";
  return base || `docktray-export.${kind}`;
}

/** The query of a chart export: whose figures, which metrics, the range, the format. */
export function seriesQuery(args: {
  target: HistoryTarget;
  metrics: string[];
  since: string;
  until: string;
  kind: ExportKind;
}): URLSearchParams {
  const query = new URLSearchParams();
  if (args.target.kind === "container") {
    query.set("container", args.target.id);
    query.set("host", args.target.host);
  } else {
    query.set("host", args.target.name);
  }
  query.set("metrics", args.metrics.join(","));
  query.set("since", args.since);
  query.set("until", args.until);
  query.set("format", args.kind);
  return query;
}

/** Hands a file to the browser to save. */
export function saveDownload(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the file once the click is handled; the URL is let go a little later.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves what a successful export answer holds; resolves with the file's name and its rows. */
export async function saveExport(response: Response, typed: string, kind: ExportKind): Promise<Exported> {
  const name = fileName(typed, kind);
  const blob = await response.blob();
  const rows = Number(response.headers.get(ROWS_HEADER) ?? "0");
  saveDownload(blob, name);
  return { path: name, rows: Number.isFinite(rows) ? rows : 0 };
}
