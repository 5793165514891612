// The window's components over the HTTP backend (lib/http/), against a recorded server: the answers and stream
// messages in recorded/recorded.json were taken from a real `docktray serve` on the test engine (recorded/record.py).
// fetch and WebSocket replay them, so the same views run as in the served page, with no mock backend involved.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { ContainerSnapshot } from "../src/lib/bindings/ContainerSnapshot";
import ContainerActions from "../src/components/ContainerActions.svelte";
import ServiceUrl from "../src/components/ServiceUrl.svelte";
import { HttpBackend } from "../src/lib/http/backend";
import { webSession } from "../src/lib/http/session.svelte";
import { getBackend, getSnapshot, inServedPage, openUrl, setBackend } from "../src/lib/ipc";
import { live } from "../src/lib/state/live.svelte";
import Containers from "../src/views/Containers.svelte";
import LogsTab from "../src/views/detail/LogsTab.svelte";
import SignIn from "../src/web/SignIn.svelte";
import recorded from "./recorded/recorded.json";
import { logTexts, settle } from "./helpers";

type Answer = { status: number; body: unknown };
type Sent = { url: string; method: string; headers: Record<string, string>; body: string | null };

const IMG = "<img src=x onerror=alert(1)>";
const RECORDED_CONTAINER = "i13-rec-web";

/** The recorded server: (method, path) -> answer; every request is kept for the asserts. */
class RecordedServer {
  sent: Sent[] = [];
  signedIn = false;
  sockets: FakeSocket[] = [];

  answer(method: string, path: string, body: string | null): Answer {
    if (path === "/api/v1/session" && method === "POST") {
      const token = (JSON.parse(body ?? "{}") as { token: string }).token;
      if (token !== "the-right-token") return recorded.session_wrong_token;
      this.signedIn = true;
      return recorded.session;
    }
    if (!this.signedIn) return recorded.no_session;
    if (path === "/api/v1/session" && method === "GET") return recorded.session;
    if (path === "/api/v1/snapshot") return recorded.snapshot;
    if (path.startsWith("/api/v1/containers/") && method === "POST") return recorded.actions_refused;
    return { status: 404, body: { error: "not_found", message: "not recorded" } };
  }

  fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const body = typeof init?.body === "string" ? init.body : null;
    this.sent.push({ url: url.toString(), method, headers: { ...(init?.headers as Record<string, string>) }, body });
    const { status, body: answer } = this.answer(method, url.pathname, body);
    return new Response(JSON.stringify(answer), { status, headers: { "content-type": "application/json" } });
  };
}

/** A WebSocket that replays the recorded messages of the stream its URL asks for. */
class FakeSocket {
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;

  constructor(readonly url: string) {
    server.sockets.push(this);
    const messages = url.includes("streams=logs") ? recorded.ws_logs : recorded.ws_snapshot;
    setTimeout(() => {
      this.onopen?.();
      for (const message of messages) this.onmessage?.({ data: JSON.stringify(message) });
    }, 0);
  }

  close() {
    this.closed = true;
  }
}

let server: RecordedServer;
const realFetch = globalThis.fetch;
const realSocket = globalThis.WebSocket;

const recordedContainer = () =>
  (recorded.snapshot.body as unknown as { containers: ContainerSnapshot[] }).containers.find((c) => c.name === RECORDED_CONTAINER)!;

beforeEach(() => {
  server = new RecordedServer();
  const meta = document.createElement("meta");
  meta.name = "docktray-backend";
  meta.content = "http";
  document.head.append(meta);
  globalThis.fetch = server.fetch as typeof fetch;
  globalThis.WebSocket = FakeSocket as unknown as typeof WebSocket;
  setBackend(null);
  live.reset();
  webSession.ended(null);
});

afterEach(() => {
  document.head.querySelector('meta[name="docktray-backend"]')?.remove();
  globalThis.fetch = realFetch;
  globalThis.WebSocket = realSocket;
  live.reset();
  setBackend(null);
});

async function signIn() {
  expect(await webSession.signIn("the-right-token")).toBe(true);
}

describe("the HTTP backend against a recorded server", () => {
  test("the served page picks the HTTP backend", async () => {
    expect(inServedPage()).toBe(true);
    expect(await getBackend()).toBeInstanceOf(HttpBackend);
  });

  test("a wrong token shows the server's message; the right one signs in and is kept nowhere", async () => {
    render(SignIn);
    const field = screen.getByLabelText("API token");
    await fireEvent.input(field, { target: { value: "wrong" } });
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("not the API token"));
    expect(webSession.state).toBe("signed-out");

    await fireEvent.input(field, { target: { value: "the-right-token" } });
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(webSession.state).toBe("signed-in"));
    expect((field as HTMLInputElement).value).toBe("");
    const post = server.sent.find((s) => s.method === "POST")!;
    expect(new URL(post.url).search).toBe("");
    expect(JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie).not.toContain(
      "the-right-token",
    );
  });

  test("without a session a request ends in the sign-in form with the server's reason", async () => {
    await expect(getSnapshot()).rejects.toThrow("docktray api token");
    expect(webSession.state).toBe("signed-out");
    expect(webSession.message).toContain("docktray api token");
  });

  test("the containers view lists the real engine's containers from the pushed snapshot", async () => {
    await signIn();
    await live.start();
    render(Containers);
    await waitFor(() => expect(screen.getByRole("link", { name: RECORDED_CONTAINER })).toBeTruthy());
    // Pushed over the WebSocket (snapshot stream), not polled.
    expect(server.sockets.some((s) => s.url.includes("/api/v1/ws?streams=snapshot,alerts"))).toBe(true);
    expect(server.sent.filter((s) => s.url.endsWith("/api/v1/snapshot"))).toHaveLength(1);
    live.stop();
  });

  test("logs come over the WebSocket, and markup in a line stays text", async () => {
    await signIn();
    const view = render(LogsTab, { props: { container: recordedContainer() } });
    await waitFor(() => expect(logTexts(view.container)).toContain(IMG));
    expect(logTexts(view.container)).toContain("tick 1");
    expect(view.container.querySelector("img")).toBeNull();
    const socket = server.sockets.find((s) => s.url.includes("streams=logs"))!;
    expect(new URL(socket.url).searchParams.get("container")).toBe(recordedContainer().id);
    view.unmount();
    await settle();
    expect(socket.closed).toBe(true);
  });

  test("actions: none when the server disallows them; with them, the CSRF header goes along", async () => {
    await signIn();
    const first = render(ContainerActions, { props: { container: recordedContainer(), labelled: true } });
    expect(within(first.container).queryByRole("button")).toBeNull();
    first.unmount();

    webSession.allowActions = true;
    render(ContainerActions, { props: { container: recordedContainer(), labelled: true } });
    await fireEvent.click(screen.getByRole("button", { name: /Stop/ }));
    await fireEvent.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Stop" }));
    await waitFor(() => expect(server.sent.some((s) => s.url.endsWith("/stop"))).toBe(true));
    const stop = server.sent.find((s) => s.url.endsWith("/stop"))!;
    expect(stop.method).toBe("POST");
    expect(stop.headers["x-docktray-csrf"]).toBe("recorded-csrf");
  });

  test("a service's address opens in a new tab, without a handle on the page; other schemes are refused", async () => {
    await signIn();
    const open = vi.spyOn(window, "open").mockImplementation(() => null);
    try {
      render(ServiceUrl, { props: { url: "https://shop.example.com/" } });
      await fireEvent.click(screen.getByRole("button", { name: /Open https:\/\/shop.example.com\// }));
      await waitFor(() => expect(open).toHaveBeenCalledWith("https://shop.example.com/", "_blank", "noopener,noreferrer"));
      await expect(openUrl("javascript:alert(1)")).rejects.toThrow(/not an http or https address/);
      expect(open).toHaveBeenCalledTimes(1);
    } finally {
      open.mockRestore();
    }
  });
});
