// The window's Settings view over the HTTP backend (lib/http/settings.ts), against a recorded server:
// recorded/settings.json holds what a real `docktray serve` on the test engine answered ([api] allow_actions on),
// made by recorded/record_settings.py. fetch replays it; the view is the window's own, with no mock backend.
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { Config } from "../src/lib/bindings/Config";
import { HttpBackend } from "../src/lib/http/backend";
import { webSession } from "../src/lib/http/session.svelte";
import {
  discoverHosts,
  removeHost,
  retryCaddy,
  saveSettings,
  setBackend,
  setNotificationsPaused,
  testChannel,
  webdockTokenStatus,
} from "../src/lib/ipc";
import { toasts } from "../src/lib/state/toasts.svelte";
import Settings from "../src/views/Settings.svelte";
import recorded from "./recorded/recorded.json";
import settings from "./recorded/settings.json";

type Answer = { status: number; body: unknown };
type Sent = { url: URL; method: string; headers: Record<string, string>; body: unknown };

const recordedConfig = () => (settings.settings.body as unknown as { config: Config }).config;

/** (method, path, body) -> the recorded answer. Settings with a ring of 0 lines are the recorded bad ones. */
function answer(method: string, url: URL, body: unknown): Answer {
  const path = url.pathname;
  const ring = (body as { config?: Config } | undefined)?.config?.logs.ring_lines;
  if (path === "/api/v1/session") return recorded.session;
  if (method === "GET" && path === "/api/v1/settings") return settings.settings;
  if (method === "POST" && path === "/api/v1/settings/validate") return ring === 0 ? settings.validate_bad : settings.validate_ok;
  if (method === "PUT" && path === "/api/v1/settings") return ring === 0 ? settings.save_bad : settings.save;
  if (method === "POST" && path === "/api/v1/notifications/pause") return settings.pause;
  if (method === "GET" && path === "/api/v1/webdock/accounts/w/token") return settings.token_status;
  if (method === "GET" && path === "/api/v1/ssh-hosts/discover") return settings.discover;
  if (method === "POST" && path === "/api/v1/caddy/retry") return settings.caddy_off;
  if (method === "POST" && path === "/api/v1/channels/ntfy/test") return settings.channel_unknown;
  if (method === "DELETE" && path === "/api/v1/ssh-hosts/nowhere") return settings.remove_host_missing;
  return { status: 404, body: { error: "not_found", message: "not recorded" } };
}

let sent: Sent[] = [];
const realFetch = globalThis.fetch;

beforeEach(async () => {
  sent = [];
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined;
    sent.push({ url, method, headers: { ...(init?.headers as Record<string, string>) }, body });
    const { status, body: reply } = answer(method, url, body);
    return new Response(JSON.stringify(reply), { status, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  setBackend(new HttpBackend());
  expect(await webSession.signIn("the-right-token")).toBe(true);
});

afterEach(() => {
  globalThis.fetch = realFetch;
  setBackend(null);
  webSession.ended(null);
});

describe("the window's settings over the HTTP backend", () => {
  test("the view shows the server's settings, marks a bad value with the server's message, and saves", async () => {
    render(Settings, { props: { debounceMs: 0 } });
    const ring = (await screen.findByLabelText("Log lines kept per container")) as HTMLInputElement;
    expect(Number(ring.value)).toBe(recordedConfig().logs.ring_lines);
    expect(document.body.textContent).toContain((settings.settings.body as { path: string }).path);

    await fireEvent.input(ring, { target: { value: "0" } });
    const message = (settings.validate_bad.body as { message: string }).message;
    await waitFor(() => expect(ring.getAttribute("aria-invalid")).toBe("true"));
    // The server's message, shown at the field without the file's name (as for the window's).
    expect(document.body.textContent).toContain(message.slice(message.indexOf("`logs.ring_lines` = 0 is not valid")));
    const validate = sent.find((s) => s.url.pathname === "/api/v1/settings/validate")!;
    expect(validate.method).toBe("POST");
    expect(validate.headers["x-docktray-csrf"]).toBe("recorded-csrf");

    const wanted = recordedConfig().logs.ring_lines + 1;
    await fireEvent.input(ring, { target: { value: String(wanted) } });
    const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    await fireEvent.click(save);
    await waitFor(() => expect(sent.some((s) => s.method === "PUT")).toBe(true));
    const put = sent.find((s) => s.method === "PUT")!;
    expect(put.url.pathname).toBe("/api/v1/settings");
    expect(put.headers["x-docktray-csrf"]).toBe("recorded-csrf");
    expect(put.headers["content-type"]).toBe("application/json");
    expect((put.body as { config: Config }).config.logs.ring_lines).toBe(wanted);
    // The server said the log ring applies at the next start: the view says so.
    expect((settings.save.body as { restart_needed: string[] }).restart_needed).toEqual(["[logs]"]);
    await waitFor(() => expect(toasts.items.map((t) => t.text).join(" ")).toContain("[logs] takes effect when Docktray starts again"));
  });

  test("a bad save is refused with the server's message naming the key", async () => {
    const bad = structuredClone(recordedConfig());
    bad.logs.ring_lines = 0;
    await expect(saveSettings(bad)).rejects.toThrow("ring_lines");
    expect((settings.save_bad.body as { field: string }).field).toBe("logs.ring_lines");
  });

  test("pause, token status, host discovery, Caddy, channels and hosts go through their routes", async () => {
    await setNotificationsPaused(true, 60);
    const pause = sent.find((s) => s.url.pathname === "/api/v1/notifications/pause")!;
    expect(pause.method).toBe("POST");
    expect(pause.body).toEqual({ paused: true, minutes: 60 });
    expect(pause.headers["x-docktray-csrf"]).toBe("recorded-csrf");

    const status = await webdockTokenStatus("w");
    expect(status).toEqual(settings.token_status.body);
    expect(status.state).toBe("not set");
    expect(Array.isArray(await discoverHosts())).toBe(true);

    await expect(retryCaddy()).rejects.toThrow("[caddy] admin_url");
    await expect(testChannel("ntfy")).rejects.toThrow("no channel named ntfy");
    await expect(removeHost("nowhere")).rejects.toThrow("no host named nowhere");
  });
});
