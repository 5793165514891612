// Podman engines in the window: named for what they are, the reason a rootless one has no figures, pods grouped
// like compose projects.
import { render, screen, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { engineLabel } from "../src/lib/hosts";
import { live } from "../src/lib/state/live.svelte";
import { groupByProject } from "../src/lib/util/containers";
import Containers from "../src/views/Containers.svelte";
import Overview from "../src/views/Overview.svelte";
import { setup, teardown } from "./helpers";

describe("Podman engines", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  test("each host card names its engine for what it is", () => {
    render(Overview);
    const edge = screen.getByRole("article", { name: "edge-01" });
    expect(edge.querySelector(".meta")!.textContent).toContain("Podman 4.9.3");
    expect(edge.textContent).not.toContain("Docker 4.9.3");
    const local = screen.getByRole("article", { name: "local" });
    expect(local.querySelector(".meta")!.textContent).toContain("Docker 27.3.1");
  });

  test("a rootless engine without figures says so and why", () => {
    const note = "rootless Podman on cgroup v1 gives containers no cgroup of their own <b>x</b>";
    ctx.mock.sourcePatches.set("edge-01", { rootless: true, stats_method: null, stats_note: note });
    live.apply(ctx.mock.snapshot());
    render(Overview);
    const edge = screen.getByRole("article", { name: "edge-01" });
    expect(edge.querySelector(".meta")!.textContent).toContain("Podman 4.9.3 (rootless)");
    const shown = within(edge).getByRole("note");
    expect(shown.textContent).toBe(`No container figures: ${note}`);
    expect(shown.querySelector("b")).toBeNull();
  });

  test("engine labels follow the product, version and rootless flag", () => {
    const source = ctx.mock.snapshot().sources[0]!;
    expect(engineLabel({ ...source, engine_product: "podman", engine_version: "5.2.0", rootless: true })).toBe(
      "Podman 5.2.0 (rootless)",
    );
    expect(engineLabel({ ...source, engine_product: null, engine_version: "20.10.24", rootless: false })).toBe("Docker 20.10.24");
    expect(engineLabel({ ...source, engine_version: null })).toBeNull();
  });

  test("containers of a pod are grouped like a compose project", () => {
    const snapshot = ctx.mock.snapshot();
    for (const c of snapshot.containers) if (c.name === "uptime-kuma" || c.name === "backup-nightly") c.pod = "kuma";
    live.apply(snapshot);
    render(Containers);
    const groups = [...document.querySelectorAll("tbody.group .project")].map((el) => el.textContent);
    expect(groups).toEqual(["monitoring", "shop", "Standalone containers", "pod kuma", "proxy"]);
    const members = groupByProject(snapshot.containers).find((g) => g.pod === "kuma")!.containers.map((c) => c.name);
    expect(members.sort()).toEqual(["backup-nightly", "uptime-kuma"]);
  });
});
