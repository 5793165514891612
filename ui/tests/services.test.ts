import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { Snapshot } from "../src/lib/bindings/Snapshot";
import { isWebUrl } from "../src/lib/services";
import { live } from "../src/lib/state/live.svelte";
import { fromIpcRoute, parseHash, targetHref } from "../src/lib/state/router.svelte";
import ContainerView from "../src/views/ContainerView.svelte";
import Services from "../src/views/Services.svelte";
import { settle, setup, teardown } from "./helpers";

const HOSTILE = `<img src=x onerror="window.__pwned=1">bad`;

function rows(): HTMLElement[] {
  return screen.getAllByTestId("service-row");
}

describe("the Services view", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  test("lists each service with its type, URL, container, host, state and Caddy's state", () => {
    render(Services);
    const web = rows().find((r) => r.textContent?.includes("shop-web-1"))!;
    const cells = [...web.querySelectorAll("td")].map((td) => td.textContent?.trim());
    expect(cells).toEqual(["web", "revp", "https://shop.example.com/", "shop-web-1", "local", "running  healthy", "routed"]);
    const whoami = rows().find((r) => r.textContent?.includes("proxy-whoami-1"))!;
    expect(whoami.textContent).toContain("edge-01");
    expect(whoami.textContent).toContain("failed");
    expect(whoami.textContent).toContain("is not published on edge-01");
    const stopped = rows().find((r) => r.textContent?.includes("db-migrate"))!;
    expect(stopped.textContent).toContain("no route (stopped)");
    const caddy = screen.getByRole("region", { name: "Caddy" });
    expect(within(caddy).getByTestId("caddy-state").textContent).toBe("up");
    expect(caddy.textContent).toContain("server srv0");
  });

  test("a URL opens in the browser through the backend, http and https only", async () => {
    render(Services);
    await fireEvent.click(screen.getByRole("button", { name: "Open https://shop.example.com/ in your browser" }));
    await settle();
    expect(ctx.mock.opened).toEqual(["https://shop.example.com/"]);
    expect(isWebUrl("http://a.example.com/x")).toBe(true);
    expect(isWebUrl("javascript:alert(1)")).toBe(false);
    expect(isWebUrl("file:///etc/passwd")).toBe(false);
  });

  test("label problems name their label; hostile text stays text", () => {
    const snapshot: Snapshot = ctx.mock.snapshot();
    snapshot.service_problems[0].message = HOSTILE;
    snapshot.services[0].url = "javascript:alert(1)";
    snapshot.services[0].name = HOSTILE;
    live.apply(snapshot);
    render(Services);
    const list = screen.getByRole("list", { name: "Service label problems" });
    expect(list.textContent).toContain("label docktray.web.domain: shop.example.com/ is already claimed by shop-web-1");
    expect(list.textContent).toContain(HOSTILE);
    expect(document.querySelector("img")).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    expect(screen.queryByRole("button", { name: /javascript:/ })).toBeNull();
  });

  test("Caddy away: its state, reason, failures and Retry now", async () => {
    ctx.mock.caddyDown = true;
    live.apply(ctx.mock.snapshot());
    render(Services);
    const caddy = screen.getByRole("region", { name: "Caddy" });
    expect(within(caddy).getByTestId("caddy-state").textContent).toBe("unreachable");
    expect(within(caddy).getByTestId("caddy-reason").textContent).toContain("no answer from Caddy's admin API");
    expect(caddy.textContent).toContain("3 failures in a row");
    expect(rows().find((r) => r.textContent?.includes("shop-web-1"))!.textContent).toContain("waiting for Caddy");
    await fireEvent.click(within(caddy).getByRole("button", { name: "Retry now" }));
    await settle();
    expect(ctx.mock.caddyRetries).toBe(1);
  });

  test("Caddy sync off: says how to turn it on", () => {
    const snapshot = ctx.mock.snapshot();
    snapshot.sources = snapshot.sources.filter((s) => s.kind !== "caddy");
    snapshot.proxy = null;
    live.apply(snapshot);
    render(Services);
    const caddy = screen.getByRole("region", { name: "Caddy" });
    expect(caddy.textContent).toContain("sync is off");
    expect(caddy.textContent).toContain("admin_url");
  });

  test("the container detail shows its services and its label problems", () => {
    const web = live.snapshot!.containers.find((c) => c.name === "shop-web-1")!;
    const { unmount } = render(ContainerView, { host: web.host, id: web.id, tab: "stats" });
    const section = screen.getByRole("region", { name: "Services of this container" });
    expect(section.textContent).toContain("https://shop.example.com/");
    expect(section.textContent).toContain("routed");
    unmount();
    const portainer = live.snapshot!.containers.find((c) => c.name === "portainer")!;
    render(ContainerView, { host: portainer.host, id: portainer.id, tab: "stats" });
    const other = screen.getByRole("region", { name: "Services of this container" });
    expect(other.textContent).toContain('label docktray.revp.port: "https" is not valid');
  });

  test("routes: #/services, the shell's `services`, and the Caddy alert's target", () => {
    expect(parseHash("#/services")).toEqual({ name: "services" });
    expect(fromIpcRoute("services")).toEqual({ name: "services" });
    expect(targetHref({ kind: "proxy", host: "local", id: "caddy" })).toBe("#/services");
    expect(targetHref({ kind: "container", host: "local", id: "abc" })).toBe("#/container/local/abc/stats");
  });
});
