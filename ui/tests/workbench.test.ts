import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { ExecEnd } from "../src/lib/bindings/ExecEnd";
import { openTerminal } from "../src/lib/ipc";
import { fromIpcRoute, href, parseHash } from "../src/lib/state/router.svelte";
import { dockerSize, reclaimableText } from "../src/lib/util/dockersize";
import Containers from "../src/views/Containers.svelte";
import Resources from "../src/views/Resources.svelte";
import { settle, setup, teardown } from "./helpers";

describe("workbench", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  test("sizes read like the docker CLI", () => {
    expect(dockerSize(0)).toBe("0B");
    expect(dockerSize(1_984_256)).toBe("1.984MB");
    expect(dockerSize(12_345_678)).toBe("12.35MB");
    expect(dockerSize(2_000_000_000)).toBe("2GB");
    expect(reclaimableText(500, 1000)).toBe("500B (50%)");
    expect(reclaimableText(0, 0)).toBe("0B");
  });

  test("the terminal tab and the resources view have routes", () => {
    expect(parseHash("#/container/local/abc/terminal")).toEqual({ name: "container", host: "local", id: "abc", tab: "terminal" });
    expect(parseHash("#/resources/volumes/nas")).toEqual({ name: "resources", tab: "volumes", host: "nas" });
    expect(parseHash("#/resources")).toEqual({ name: "resources", tab: "images", host: null });
    expect(href({ name: "resources", tab: "networks", host: "a b" })).toBe("#/resources/networks/a%20b");
    expect(fromIpcRoute("containers")).toEqual({ name: "containers" });
  });

  test("removing a used image is refused naming its container, then force is offered", async () => {
    render(Resources, { tab: "images", host: "local" });
    await settle(6);
    const used = ctx.mock.workbench.images("local").find((i) => i.containers.length)!;
    const row = [...document.querySelectorAll<HTMLElement>('[data-testid="image-row"]')].find((r) => r.dataset.id === used.id)!;
    await fireEvent.click(within(row).getByRole("button", { name: /Remove image/ }));
    const dialog = screen.getByRole("alertdialog");
    expect(dialog.textContent).toContain("from local");
    expect(dialog.textContent).toContain(used.containers[0]);
    await fireEvent.click(within(dialog).getByRole("button", { name: "Remove" }));
    await settle(6);
    const refusal = screen.getByTestId("refusal");
    expect(refusal.textContent).toContain(`is used by container`);
    expect(refusal.textContent).toContain(used.containers[0]);
    await fireEvent.click(within(refusal).getByRole("button", { name: "Force removal" }));
    const force = screen.getByRole("alertdialog");
    expect(force.textContent).toContain("Force removal");
    await fireEvent.click(within(force).getByRole("button", { name: "Force remove" }));
    await settle(6);
    expect(ctx.mock.calls.filter((c) => c.command === "remove_image").map((c) => c.args)).toEqual([
      { host: "local", image: used.tags[0], force: false },
      { host: "local", image: used.tags[0], force: true },
    ]);
    expect(ctx.mock.workbench.images("local").some((i) => i.id === used.id)).toBe(false);
  });

  test("prune names the host and what it frees, and the disk usage is shown", async () => {
    render(Resources, { tab: "images", host: "local" });
    await settle(6);
    expect(screen.getByTestId("docker-disk").textContent).toContain("could be freed");
    await fireEvent.click(screen.getByTestId("prune-images"));
    const dialog = screen.getByRole("alertdialog");
    expect(dialog.textContent).toMatch(/Remove 1 dangling image from local/);
    expect(dialog.textContent).toContain(dockerSize(212 * 1024 * 1024));
    await fireEvent.click(within(dialog).getByRole("button", { name: "Prune" }));
    await settle(6);
    expect(ctx.mock.workbench.images("local").some((i) => i.dangling)).toBe(false);
  });

  test("a stack action shows its order and host once, then acts", async () => {
    render(Containers);
    const actions = document.querySelector<HTMLElement>('[data-testid="stack-actions"][data-project="shop"]')!;
    await fireEvent.click(within(actions).getByRole("button", { name: /Stop stack shop on local/ }));
    await settle(6);
    const dialog = screen.getByRole("alertdialog");
    expect(dialog.textContent).toContain("Stop stack shop on local?");
    expect(dialog.textContent).toMatch(/stop .*, then stop .*shop-db-1/);
    await fireEvent.click(within(dialog).getByRole("button", { name: "Stop" }));
    await settle(6);
    expect(ctx.mock.calls.some((c) => c.command === "stack_action")).toBe(true);
    expect(ctx.mock.specs.filter((s) => s.project === "shop" && s.host === "local").every((s) => s.state !== "running")).toBe(true);
  });

  test("a terminal streams bytes both ways through the backend", async () => {
    const spec = ctx.mock.specs.find((s) => s.state === "running")!;
    const chunks: string[] = [];
    let ended: ExecEnd | null = null;
    const decoder = new TextDecoder();
    const session = await openTerminal(
      { container: spec.id, shell: null, cols: 80, rows: 24 },
      { output: (c) => chunks.push(decoder.decode(c)), end: (e) => (ended = e) },
    );
    const type = (text: string) => session.write(new TextEncoder().encode(text));
    await type("echo $((6*7))\r");
    await session.resize(100, 30);
    await type("stty size\r");
    await type("exit 2\r");
    await settle();
    expect(chunks.join("")).toContain("42\r\n");
    expect(chunks.join("")).toContain("30 100\r\n");
    expect(ended).toEqual({ exit_code: 2, message: "The shell exited with status 2." });
    const stopped = ctx.mock.specs.find((s) => s.state === "exited")!;
    await expect(openTerminal({ container: stopped.id, shell: null, cols: 80, rows: 24 }, { output() {}, end() {} })).rejects.toContain(
      "not running",
    );
  });
});
