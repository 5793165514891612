// The window's detail and workbench views over the HTTP backend (lib/http/backend.ts), against a recorded server:
// recorded/workbench.json holds what a real `docktray serve` on the test engine answered ([api] allow_actions off),
// made by recorded/record_workbench.py. fetch replays it; the views are the window's own, with no mock backend.
import { render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { ContainerSnapshot } from "../src/lib/bindings/ContainerSnapshot";
import DockerDiskUsage from "../src/components/DockerDiskUsage.svelte";
import { HttpBackend } from "../src/lib/http/backend";
import { webSession } from "../src/lib/http/session.svelte";
import { acknowledgeAlert, listTimeline, pruneImages, setBackend, stackPlan } from "../src/lib/ipc";
import InfoTab from "../src/views/detail/InfoTab.svelte";
import ImagesPanel from "../src/views/resources/ImagesPanel.svelte";
import NetworksPanel from "../src/views/resources/NetworksPanel.svelte";
import recorded from "./recorded/recorded.json";
import workbench from "./recorded/workbench.json";

type Answer = { status: number; body: unknown };
type Sent = { url: URL; method: string; headers: Record<string, string> };

/** (method, path) -> the recorded answer; every request is kept for the asserts. */
function answer(method: string, url: URL): Answer {
  const path = url.pathname;
  if (path === "/api/v1/session") return recorded.session;
  if (method === "GET" && path === "/api/v1/hosts/local/images") return workbench.images;
  if (method === "GET" && path === "/api/v1/hosts/local/networks") return workbench.networks;
  if (method === "GET" && path === "/api/v1/hosts/local/disk-usage") return workbench.disk_usage;
  if (method === "GET" && path.startsWith("/api/v1/hosts/nowhere/")) return workbench.unknown_host;
  if (method === "GET" && /^\/api\/v1\/containers\/[^/]+\/detail$/.test(path)) return workbench.detail;
  if (method === "GET" && path === `/api/v1/hosts/local/stacks/${workbench.project}/plan`) return workbench.stack_plan;
  if (method === "GET" && path === "/api/v1/timeline") return workbench.timeline;
  if (method === "POST" && path === "/api/v1/hosts/local/images/prune") return workbench.prune_refused;
  if (method === "POST" && /^\/api\/v1\/alerts\/\d+\/acknowledge$/.test(path)) return workbench.acknowledge_refused;
  return { status: 404, body: { error: "not_found", message: "not recorded" } };
}

let sent: Sent[] = [];
const realFetch = globalThis.fetch;

const detailContainer = () => (workbench.detail.body as unknown as { info: ContainerSnapshot }).info;

beforeEach(async () => {
  sent = [];
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    sent.push({ url, method, headers: { ...(init?.headers as Record<string, string>) } });
    const { status, body } = answer(method, url);
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  setBackend(new HttpBackend());
  expect(await webSession.signIn("the-right-token")).toBe(true);
});

afterEach(() => {
  globalThis.fetch = realFetch;
  setBackend(null);
  webSession.ended(null);
});

describe("the window's workbench over the HTTP backend", () => {
  test("the images panel lists the real engine's images from the host's route", async () => {
    const tag = (workbench.images.body as { tags: string[] }[]).find((i) => i.tags.length)!.tags[0];
    render(ImagesPanel, { props: { host: "local", onchange: () => {} } });
    await waitFor(() => expect(screen.getByRole("table", { name: "Images on local" }).textContent).toContain(tag));
    expect(sent.some((s) => s.url.pathname === "/api/v1/hosts/local/images" && s.method === "GET")).toBe(true);
  });

  test("networks and disk usage come from their routes", async () => {
    render(NetworksPanel, { props: { host: "local" } });
    await waitFor(() => expect(document.body.textContent).toContain("bridge"));
    render(DockerDiskUsage, { props: { host: "local" } });
    await waitFor(() => expect(sent.some((s) => s.url.pathname === "/api/v1/hosts/local/disk-usage")).toBe(true));
    await waitFor(() => expect(document.body.textContent).toMatch(/Images/));
  });

  test("the Info tab shows the container's inspect data", async () => {
    const container = detailContainer();
    render(InfoTab, { props: { container } });
    await waitFor(() => expect(document.body.textContent).toContain(workbench.project));
    expect(sent.some((s) => s.url.pathname === `/api/v1/containers/${encodeURIComponent(container.id)}/detail`)).toBe(true);
  });

  test("an unknown host's answer names the hosts there are", async () => {
    render(ImagesPanel, { props: { host: "nowhere", onchange: () => {} } });
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("the hosts are local"));
  });

  test("a change the server refuses says how to allow it, and carries the CSRF header", async () => {
    await expect(pruneImages("local")).rejects.toThrow("allow_actions = true");
    await expect(acknowledgeAlert(1)).rejects.toThrow("allow_actions = true");
    const prune = sent.find((s) => s.url.pathname.endsWith("/images/prune"))!;
    expect(prune.method).toBe("POST");
    expect(prune.headers["x-docktray-csrf"]).toBe("recorded-csrf");
  });

  test("stack plans and the timeline go through their routes with the filter as the query", async () => {
    const plan = await stackPlan("local", workbench.project, "restart");
    expect(plan.steps.map((s) => s.action)).toEqual(["stop", "start"]);
    await listTimeline({
      since: "2026-12-04T08:00:00Z",
      until: null,
      host: "local",
      container: " ",
      kind: null,
      text: "die",
      audit_only: true,
      limit: 50,
    });
    const timeline = sent.find((s) => s.url.pathname === "/api/v1/timeline")!;
    expect(Object.fromEntries(timeline.url.searchParams)).toEqual({
      since: "2026-12-04T08:00:00Z",
      host: "local",
      text: "die",
      audit_only: "true",
      limit: "50",
    });
  });
});
