import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { SourceStatus } from "../src/lib/bindings/SourceStatus";
import { MOCK_HOST_KEY } from "../src/lib/mock/backend";
import { live } from "../src/lib/state/live.svelte";
import Containers from "../src/views/Containers.svelte";
import Overview from "../src/views/Overview.svelte";
import CheckSteps from "../src/views/settings/CheckSteps.svelte";
import HostForm from "../src/views/settings/HostForm.svelte";
import SshHostsSection from "../src/views/settings/SshHostsSection.svelte";
import { settle, setup, T0, teardown } from "./helpers";

const HOSTILE = `<img src=x onerror="window.__pwned=1">Permission denied (publickey)`;

function unreachable(failures: number): Partial<SourceStatus> {
  const error = { at: new Date(T0 - 5000).toISOString(), step: "auth" as const, message: HOSTILE };
  return {
    state: "unreachable",
    consecutive_failures: failures,
    next_retry: new Date(T0 + 30_000).toISOString(),
    last_error: error,
    errors: [{ ...error, step: "tcp", message: "cannot connect" }, error],
  };
}

describe("SSH hosts in the window", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  test("the overview card shows a remote host's state, last error with its step, failures and next retry", async () => {
    ctx.mock.sourcePatches.set("edge-01", unreachable(4));
    live.apply(ctx.mock.snapshot());
    render(Overview);
    const card = screen.getByRole("region", { name: "Connection to edge-01" });
    expect(within(card).getByTestId("host-state").textContent).toBe("unreachable");
    expect(card.textContent).toContain("4 failures in a row");
    expect(card.textContent).toContain("next retry");
    const error = within(card).getByTestId("host-last-error");
    expect(error.textContent).toContain("SSH login step");
    // The remote message is text, not markup.
    expect(error.querySelector("img")).toBeNull();
    expect(error.textContent).toContain(HOSTILE);
    expect(card.textContent).toContain("Error history (2)");
    // The local engine has no connection panel.
    expect(screen.queryByRole("region", { name: "Connection to local" })).toBeNull();

    await fireEvent.click(within(card).getByRole("button", { name: "Retry now" }));
    await settle();
    expect(ctx.mock.retried).toEqual(["edge-01"]);
  });

  test("an up host has no retry button", () => {
    render(Overview);
    const card = screen.getByRole("region", { name: "Connection to edge-01" });
    expect(within(card).getByTestId("host-state").textContent).toBe("up");
    expect(within(card).queryByRole("button", { name: "Retry now" })).toBeNull();
  });

  test("the containers table groups by host under headings and filters to one host", async () => {
    ctx.mock.sourcePatches.set("edge-01", { state: "degraded" });
    live.apply(ctx.mock.snapshot());
    render(Containers);
    const headings = [...document.querySelectorAll("tbody.host-heading .name")].map((el) => el.textContent);
    expect(headings).toEqual(["local", "edge-01"]);
    const edge = document.querySelectorAll("tbody.host-heading")[1]!;
    expect(edge.textContent).toContain("degraded");
    const edgeCount = live.snapshot!.containers.filter((c) => c.host === "edge-01").length;
    expect(edge.textContent).toContain(`${edgeCount} container`);

    await fireEvent.change(screen.getByRole("combobox", { name: "Filter by host" }), { target: { value: "edge-01" } });
    const hosts = new Set([...document.querySelectorAll("tbody.group .host")].map((el) => el.textContent));
    expect([...hosts]).toEqual(["edge-01"]);
    expect(document.querySelectorAll("tbody tr a.name").length).toBe(edgeCount);
  });

  test("a host without containers is offered in the filter and says why it is empty", async () => {
    ctx.mock.specs = ctx.mock.specs.filter((s) => s.host === "local");
    ctx.mock.sourcePatches.set("edge-01", unreachable(2));
    live.apply(ctx.mock.snapshot());
    render(Containers);
    const filter = screen.getByRole("combobox", { name: "Filter by host" });
    expect([...filter.querySelectorAll("option")].map((o) => o.textContent)).toEqual(["All hosts", "local", "edge-01"]);
    await fireEvent.change(filter, { target: { value: "edge-01" } });
    expect(screen.getByText("No containers from edge-01: it is unreachable.")).toBeTruthy();
  });

  test("with all hosts shown, a host that is down with no containers keeps its heading", () => {
    ctx.mock.specs = ctx.mock.specs.filter((s) => s.host === "local");
    ctx.mock.sourcePatches.set("edge-01", unreachable(2));
    live.apply(ctx.mock.snapshot());
    render(Containers);
    const headings = [...document.querySelectorAll("tbody.host-heading")];
    expect(headings.map((h) => h.querySelector(".name")!.textContent)).toEqual(["local", "edge-01"]);
    expect(headings[1]!.textContent).toContain("0 containers");
    expect(headings[1]!.textContent).toContain("unreachable");
  });

  test("the check's steps show pass and fail, and a hostile message literally", () => {
    render(CheckSteps, {
      steps: [
        { step: "DNS", ok: true, detail: "edge resolves" },
        { step: "SSH login and socket", ok: false, detail: HOSTILE },
      ],
    });
    const steps = screen.getAllByTestId("check-step");
    expect(steps.map((s) => s.textContent?.replace(/\s+/g, " ").trim())).toEqual([
      "✓ DNS passed edge resolves",
      `✗ SSH login and socket failed ${HOSTILE}`,
    ]);
    expect(steps[1]!.classList.contains("fail")).toBe(true);
    expect(document.querySelector("img")).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  test("Test connection names the failing step; trusting needs the fingerprint confirmed", async () => {
    const saved: string[] = [];
    render(HostForm, {
      initial: { name: "edge-02", destination: "ops@edge-02.example.net", identity_file: null, socket: "/var/run/docker.sock" },
      onsave: async (h) => (saved.push(h.name), null),
      oncancel: () => {},
    });
    await fireEvent.click(screen.getByRole("button", { name: "Test connection" }));
    await settle(6);
    let steps = screen.getAllByTestId("check-step");
    expect(steps.map((s) => s.querySelector(".name")!.textContent)).toEqual(["DNS", "TCP", "host key"]);
    expect(steps[2]!.classList.contains("fail")).toBe(true);

    // Showing the key trusts nothing.
    await fireEvent.click(screen.getByRole("button", { name: "Show host key…" }));
    await settle(6);
    const group = screen.getByRole("group", { name: "Host key of edge-02.example.net" });
    expect(group.textContent).toContain(MOCK_HOST_KEY.fingerprint);
    expect(ctx.mock.trusted.size).toBe(0);
    expect(ctx.mock.calls.some((c) => c.command === "trust_host")).toBe(false);
    // Cancel trusts nothing either.
    await fireEvent.click(within(group).getByRole("button", { name: "Cancel" }));
    expect(ctx.mock.trusted.size).toBe(0);

    await fireEvent.click(screen.getByRole("button", { name: "Show host key…" }));
    await settle(6);
    await fireEvent.click(screen.getByRole("button", { name: /fingerprint matches: trust/ }));
    await settle(10);
    expect(ctx.mock.trusted.has("edge-02.example.net")).toBe(true);
    expect(ctx.mock.calls.find((c) => c.command === "trust_host")?.args).toMatchObject({
      fingerprints: [MOCK_HOST_KEY.fingerprint],
    });
    // The check runs again and passes every step now.
    steps = screen.getAllByTestId("check-step");
    expect(steps.map((s) => s.classList.contains("fail"))).toEqual([false, false, false, false, false]);

    // Steps stand for the host as tested: editing a field hides them until "Test connection" again.
    await fireEvent.input(screen.getByLabelText("SSH destination"), { target: { value: "ops@elsewhere.example.net" } });
    expect(screen.queryAllByTestId("check-step")).toEqual([]);
  });

  test("hosts are added, edited and removed after confirmation", async () => {
    let later: string[] | null = null;
    const hosts = () => ctx.mock.config.hosts.map((h) => `${h.name} ${h.destination}`);
    const view = render(SshHostsSection, { hosts: ctx.mock.config.hosts, onchange: (l: string[]) => (later = l) });
    const rerender = () => view.rerender({ hosts: structuredClone(ctx.mock.config.hosts), onchange: (l: string[]) => (later = l) });
    const before = hosts();

    await fireEvent.click(screen.getByRole("button", { name: "Add host" }));
    await fireEvent.input(screen.getByLabelText("Name"), { target: { value: "edge-02" } });
    await fireEvent.input(screen.getByLabelText("SSH destination"), { target: { value: "ops@edge-02.example.net:2222" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save host" }));
    await settle(6);
    expect(hosts()).toEqual([...before, "edge-02 ops@edge-02.example.net:2222"]);
    // Hosts apply at once: nothing is left for the next start.
    expect(later).toEqual([]);
    await rerender();

    await fireEvent.click(screen.getByRole("button", { name: "Edit edge-02" }));
    await fireEvent.input(screen.getByLabelText("SSH destination"), { target: { value: "root@edge-02.example.net" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save host" }));
    await settle(6);
    expect(hosts()).toEqual([...before, "edge-02 root@edge-02.example.net"]);
    await rerender();

    await fireEvent.click(screen.getByRole("button", { name: "Remove edge-02" }));
    const dialog = await screen.findByRole("alertdialog");
    await fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(hosts()).toContain("edge-02 root@edge-02.example.net");
    await fireEvent.click(screen.getByRole("button", { name: "Remove edge-02" }));
    await fireEvent.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Remove" }));
    await settle(6);
    expect(hosts()).toEqual(before);
  });

  test("adding a host offers the ones this machine already knows, and picking one fills the form", async () => {
    render(HostForm, {
      initial: { name: "", destination: "", identity_file: null, socket: "/var/run/docker.sock" },
      onsave: async () => null,
      oncancel: () => {},
    });
    await settle(6);
    const offered = screen.getByLabelText("Found on this machine") as HTMLSelectElement;
    const texts = Array.from(offered.options).map((o) => o.textContent);
    expect(texts).toContain("build-01: ci@10.9.8.7:2200 (from ~/.ssh/config)");
    await fireEvent.change(offered, { target: { value: String(texts.indexOf("build-01: ci@10.9.8.7:2200 (from ~/.ssh/config)") - 1) } });
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("build-01");
    expect((screen.getByLabelText("SSH destination") as HTMLInputElement).value).toBe("build-01");
  });

  test("editing a host offers nothing to fill in", async () => {
    render(HostForm, {
      initial: { name: "edge-02", destination: "ops@edge-02.example.net", identity_file: null, socket: "/var/run/docker.sock" },
      onsave: async () => null,
      oncancel: () => {},
    });
    await settle(6);
    expect(screen.queryByLabelText("Found on this machine")).toBeNull();
    expect(ctx.mock.calls.some((c) => c.command === "discover_hosts")).toBe(false);
  });
});
