// The page's terminal, alert history and exports over the HTTP backend (lib/http/), against a recorded server:
// recorded/terminal.json holds what a real `docktray serve` on the test engine sent (recorded/record_terminal.py):
// a terminal session's messages step by step, a terminal refused for a stopped container, the alert lists and two
// exports. The fake WebSocket replays a step when the client sends what was sent then; fetch replays the answers.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { ExecEnd } from "../src/lib/bindings/ExecEnd";
import ExportDialog from "../src/components/ExportDialog.svelte";
import { HttpBackend } from "../src/lib/http/backend";
import { webSession } from "../src/lib/http/session.svelte";
import { exportSeries, exportTimeline, openTerminal, setBackend } from "../src/lib/ipc";
import ImagesPanel from "../src/views/resources/ImagesPanel.svelte";
import Alerts from "../src/views/Alerts.svelte";
import recorded from "./recorded/recorded.json";
import terminal from "./recorded/terminal.json";
import workbench from "./recorded/workbench.json";

type Frame = { binary?: string; text?: string };
type Step = { sent: string | null; received: Frame[] };
type Answer = { status: number; body?: unknown; text?: string; headers?: Record<string, string> };

const decoder = new TextDecoder();
const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** Replays a recorded session: the first step on open, each next one when the client sends what was sent. */
class RecordedSocket {
  static opened: RecordedSocket[] = [];
  binaryType = "blob";
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string | ArrayBuffer }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  sent: (string | Uint8Array)[] = [];
  closedByClient = false;
  private steps: Step[];

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    RecordedSocket.opened.push(this);
    const path = new URL(url).pathname;
    this.steps = path.includes(encodeURIComponent(terminal.exited)) ? terminal.not_running : terminal.session;
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.();
      this.play(0);
    }, 0);
  }

  private play(index: number) {
    for (const frame of this.steps[index]?.received ?? []) {
      if (this.readyState !== 1) return;
      if (frame.binary !== undefined) this.onmessage?.({ data: bytes(frame.binary).buffer as ArrayBuffer });
      else if (frame.text !== undefined) {
        this.onmessage?.({ data: frame.text });
        if (JSON.parse(frame.text).type !== "started") this.finish();
      }
    }
  }

  /** The server closes after an end or an error. */
  private finish() {
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code: 1000, reason: "" }), 0);
  }

  send(data: string | Uint8Array) {
    this.sent.push(data);
    const text = typeof data === "string" ? data : decoder.decode(data);
    const index = this.steps.findIndex((step) => step.sent === text);
    if (index > 0) setTimeout(() => this.play(index), 0);
  }

  close() {
    this.closedByClient = true;
    this.readyState = 3;
  }
}
// The constants the backend reads from the class.
Object.assign(RecordedSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });

let sent: { url: URL; method: string }[] = [];
const realFetch = globalThis.fetch;
const realSocket = globalThis.WebSocket;

function answer(url: URL): Answer {
  const path = url.pathname;
  if (path === "/api/v1/session") return recorded.session;
  if (path === "/api/v1/alerts") return url.searchParams.get("active_only") === "true" ? terminal.alerts_active : terminal.alerts_history;
  if (path === "/api/v1/timeline/export") return terminal.timeline_csv;
  if (path === "/api/v1/history/export") return url.searchParams.get("metrics") === "nonsense" ? terminal.series_refused : terminal.series_csv;
  if (path === "/api/v1/hosts/local/images") return workbench.images;
  return { status: 404, body: { error: "not_found", message: "not recorded" } };
}

/** What the page handed the browser to save: the file names and their contents. */
let saved: { name: string; blob: Blob }[] = [];

beforeEach(async () => {
  sent = [];
  saved = [];
  RecordedSocket.opened = [];
  const meta = document.createElement("meta");
  meta.name = "docktray-backend";
  meta.content = "http";
  document.head.append(meta);
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    sent.push({ url, method });
    const { status, body, text, headers } = answer(url);
    const payload = text ?? JSON.stringify(body);
    return new Response(payload, { status, headers: { "content-type": "application/json", ...headers } });
  }) as typeof fetch;
  globalThis.WebSocket = RecordedSocket as unknown as typeof WebSocket;
  const blobs = new Map<string, Blob>();
  URL.createObjectURL = vi.fn((blob: Blob) => {
    const url = `blob:recorded/${blobs.size}`;
    blobs.set(url, blob);
    return url;
  });
  URL.revokeObjectURL = vi.fn();
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    saved.push({ name: this.download, blob: blobs.get(this.href)! });
  });
  setBackend(new HttpBackend());
  expect(await webSession.signIn("the-right-token")).toBe(true);
});

afterEach(() => {
  document.head.querySelector('meta[name="docktray-backend"]')?.remove();
  globalThis.fetch = realFetch;
  globalThis.WebSocket = realSocket;
  vi.restoreAllMocks();
  setBackend(null);
  webSession.ended(null);
});

describe("the page's terminal over the HTTP backend", () => {
  test("a session runs commands, resizes, keeps UTF-8 and ends with the shell's status", async () => {
    let output = "";
    const ends: ExecEnd[] = [];
    const session = await openTerminal(
      { container: terminal.running, shell: null, cols: 80, rows: 24 },
      { output: (chunk) => (output += decoder.decode(chunk, { stream: true })), end: (end) => ends.push(end) },
    );
    expect(session.shell).toBe("sh");
    const socket = RecordedSocket.opened[0];
    const url = new URL(socket.url);
    expect(url.pathname).toBe(`/api/v1/containers/${terminal.running}/exec`);
    expect(url.protocol).toBe("ws:");
    expect(url.searchParams.get("cols")).toBe("80");
    expect(url.searchParams.get("rows")).toBe("24");
    // The page's CSRF token rides as a subprotocol (a WebSocket has no headers); never the API token.
    expect(socket.protocols).toEqual(["docktray", "csrf.recorded-csrf"]);

    const encoder = new TextEncoder();
    await session.write(encoder.encode("echo $((6*7))\r"));
    await waitFor(() => expect(output).toMatch(/\n42\r/));
    await session.resize(61, 17);
    expect(socket.sent).toContain('{"type":"resize","cols":61,"rows":17}');
    await session.write(encoder.encode("stty size; echo grüße-✓ | wc -c; echo grüße-✓\r"));
    await waitFor(() => expect(output).toContain("17 61"));
    await waitFor(() => expect(output).toMatch(/\n12\r/));
    expect(output).toContain("\ngrüße-✓\r");
    expect(output).not.toContain("docktray-pid");

    await session.write(encoder.encode("exit 4\r"));
    await waitFor(() => expect(ends).toHaveLength(1));
    expect(ends[0].exit_code).toBe(4);
    expect(ends[0].message).toContain("exited with status 4");
    // Writing after the end says so instead of vanishing.
    await expect(session.write(encoder.encode("ls\r"))).rejects.toThrow(/ended/);
  });

  test("a stopped container's terminal is refused with the server's reason", async () => {
    await expect(
      openTerminal({ container: terminal.exited, shell: null, cols: 80, rows: 24 }, { output: () => {}, end: () => {} }),
    ).rejects.toThrow(/not running/);
  });
});

describe("alert history and exports over the HTTP backend", () => {
  test("the Alerts view's history comes from api/v1/alerts", async () => {
    render(Alerts);
    await waitFor(() => expect(sent.some((s) => s.url.pathname === "/api/v1/alerts")).toBe(true));
    await fireEvent.click(screen.getByRole("radio", { name: "History" }));
    await waitFor(() =>
      expect(sent.some((s) => s.url.pathname === "/api/v1/alerts" && s.url.searchParams.get("active_only") === "false")).toBe(true),
    );
    const exited = (terminal.alerts_history.body as { target: { name: string } }[]).find((a) => a.target.name === terminal.exited);
    expect(exited).toBeDefined();
    await waitFor(() => expect(document.body.textContent).toContain(terminal.exited));
  });

  test("the timeline export is a download of the server's CSV", async () => {
    const done = await exportTimeline({ since: null, until: null, host: null, container: terminal.exited, kind: null, text: null, audit_only: false, limit: null }, "csv", "/home/someone/timeline.csv");
    const request = sent.find((s) => s.url.pathname === "/api/v1/timeline/export")!;
    expect(request.url.searchParams.get("format")).toBe("csv");
    expect(request.url.searchParams.get("container")).toBe(terminal.exited);
    // A name for the browser's downloads: never a folder of the server's or the user's.
    expect(saved.map((s) => s.name)).toEqual(["timeline.csv"]);
    const csv = await saved[0].blob.text();
    expect(csv).toBe(terminal.timeline_csv.text);
    expect(csv.split("\n")[0]).toMatch(/^time,host,container,kind/);
    expect(done).toEqual({ path: "timeline.csv", rows: Number(terminal.timeline_csv.headers["x-docktray-rows"]) });
    expect(done.rows).toBeGreaterThan(0);
  });

  test("a chart export asks for its target, metrics and range; a refusal shows in the dialog", async () => {
    const args = {
      target: { kind: "host" as const, name: "local" },
      metrics: ["cpu_percent"],
      since: "2026-12-04T10:00:00Z",
      until: "2026-12-04T10:05:00Z",
      kind: "csv" as const,
      path: "local-cpu.csv",
    };
    const done = await exportSeries(args);
    const request = sent.find((s) => s.url.pathname === "/api/v1/history/export")!;
    expect(Object.fromEntries(request.url.searchParams)).toEqual({
      host: "local",
      metrics: "cpu_percent",
      since: args.since,
      until: args.until,
      format: "csv",
    });
    expect(await saved[0].blob.text()).toMatch(/^at,min,avg,max\n/);
    expect(done.path).toBe("local-cpu.csv");

    render(ExportDialog, {
      props: {
        open: true,
        title: "Export",
        description: "the host's CPU",
        stem: "local-cpu",
        save: () => exportSeries({ ...args, metrics: ["nonsense"] }),
        onclose: () => {},
      },
    });
    const dialog = screen.getByRole("dialog");
    // The page proposes a file name for the downloads, not a path on the server.
    const name = within(dialog).getByRole("textbox") as HTMLInputElement;
    await waitFor(() => expect(name.value).toMatch(/^docktray-local-cpu-\d{8}-\d{6}\.csv$/));
    await fireEvent.click(within(dialog).getByRole("button", { name: "Download" }));
    await waitFor(() => expect(within(dialog).getByRole("alert").textContent).toContain("cpu_percent"));
  });
});

describe("actions on a server that does not allow them", () => {
  test("remove and prune are disabled and the view says how to allow them", async () => {
    expect(webSession.allowActions).toBe(false);
    render(ImagesPanel, { props: { host: "local", onchange: () => {} } });
    await waitFor(() => expect(screen.getAllByRole("button", { name: /^Remove image/ }).length).toBeGreaterThan(0));
    for (const button of screen.getAllByRole("button", { name: /^Remove image/ })) expect((button as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByTestId("prune-images") as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByRole("note").textContent).toContain("allow_actions = true");
  });
});
