import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { live } from "../src/lib/state/live.svelte";
import Containers from "../src/views/Containers.svelte";
import { settle, setup, teardown } from "./helpers";

function names(): string[] {
  return [...document.querySelectorAll("tbody tr a.name")].map((a) => a.textContent ?? "");
}

describe("containers table", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  test("groups by compose project per host, standalone last", () => {
    render(Containers);
    const groups = [...document.querySelectorAll("tbody.group .project")].map((el) => el.textContent);
    expect(groups).toEqual(["monitoring", "shop", "Standalone containers", "proxy", "Standalone containers"]);
  });

  test("filters by name or image", async () => {
    render(Containers);
    const box = screen.getByRole("searchbox", { name: /Filter containers/ });
    await fireEvent.input(box, { target: { value: "postgres" } });
    expect(names()).toEqual(["shop-db-1"]);
    await fireEvent.input(box, { target: { value: "shop worker" } });
    expect(names()).toEqual(["shop-worker-1"]);
    await fireEvent.input(box, { target: { value: "nothing-like-this" } });
    expect(names()).toEqual([]);
    expect(screen.getByText("No container matches the filter.")).toBeTruthy();
  });

  test("filters by state", async () => {
    render(Containers);
    await fireEvent.change(screen.getByRole("combobox", { name: "Filter by state" }), { target: { value: "stopped" } });
    expect(names().sort()).toEqual(["backup-nightly", "db-migrate"]);
    await fireEvent.change(screen.getByRole("combobox", { name: "Filter by state" }), { target: { value: "unhealthy" } });
    expect(names()).toEqual(["uptime-kuma"]);
    await fireEvent.change(screen.getByRole("combobox", { name: "Filter by state" }), { target: { value: "paused" } });
    expect(names()).toEqual(["mailpit"]);
  });

  test("sorts by name, then by CPU descending and ascending", async () => {
    render(Containers);
    await fireEvent.change(screen.getByRole("combobox", { name: "Filter by host" }), { target: { value: "local" } });
    // Inside the "shop" group.
    const shop = () => names().filter((n) => n.startsWith("shop-"));
    expect(shop()).toEqual(["shop-api-1", "shop-db-1", "shop-redis-1", "shop-web-1", "shop-worker-1"]);
    const nameHeader = screen.getByRole("columnheader", { name: /Name/ });
    expect(nameHeader.getAttribute("aria-sort")).toBe("ascending");
    await fireEvent.click(within(nameHeader).getByRole("button"));
    expect(shop()).toEqual(["shop-worker-1", "shop-web-1", "shop-redis-1", "shop-db-1", "shop-api-1"]);
    expect(nameHeader.getAttribute("aria-sort")).toBe("descending");

    const cpuHeader = screen.getByRole("columnheader", { name: /CPU/ });
    await fireEvent.click(within(cpuHeader).getByRole("button"));
    const cpu = (name: string) => live.snapshot!.containers.find((c) => c.name === name)!.stats!.cpu_percent;
    const desc = shop();
    expect(desc[0]).toBe("shop-worker-1");
    for (let i = 1; i < desc.length; i++) expect(cpu(desc[i - 1])).toBeGreaterThanOrEqual(cpu(desc[i]));
    expect(cpuHeader.getAttribute("aria-sort")).toBe("descending");
    await fireEvent.click(within(cpuHeader).getByRole("button"));
    expect(shop()).toEqual([...desc].reverse());
  });

  test("stop asks for confirmation, then calls container_action", async () => {
    render(Containers);
    await fireEvent.click(screen.getByRole("button", { name: "Stop shop-web-1" }));
    const dialog = screen.getByRole("alertdialog");
    expect(dialog.textContent).toContain("shop-web-1");
    expect(ctx.mock.calls.some((c) => c.command === "container_action")).toBe(false);
    // Cancel first: nothing happens.
    await fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Stop shop-web-1" }));
    await fireEvent.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Stop" }));
    await settle();
    const call = ctx.mock.calls.find((c) => c.command === "container_action");
    const web = ctx.mock.specs.find((s) => s.name === "shop-web-1")!;
    expect(call?.args).toEqual({ container: web.id, action: "stop" });
  });

  test("start needs no confirmation; Escape cancels a dialog", async () => {
    render(Containers);
    await fireEvent.click(screen.getByRole("button", { name: "Start db-migrate" }));
    await settle();
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(ctx.mock.calls.find((c) => c.command === "container_action")?.args).toMatchObject({ action: "start" });
    await fireEvent.click(screen.getByRole("button", { name: "Pause shop-api-1" }));
    await fireEvent.keyDown(screen.getByRole("alertdialog"), { key: "Escape" });
    expect(screen.queryByRole("alertdialog")).toBeNull();
  });
});
