// The timeline view on the mock backend: exit codes and OOM marked, filters, live rows pushed by the shell,
// untrusted names and errors shown as text, and the export dialog writing the CLI's columns.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import MetricChart from "../src/components/MetricChart.svelte";
import Timeline from "../src/views/Timeline.svelte";
import { setup, teardown } from "./helpers";

const IMG = "<img src=x onerror=alert(1)>";

function table(): HTMLTableElement {
  return screen.getByRole("table", { name: "Timeline of all hosts" }) as HTMLTableElement;
}

/** Renders the view over everything kept (the mock's night is at its own clock, not today's). */
async function open() {
  render(Timeline);
  await fireEvent.change(screen.getByRole("combobox", { name: "Time range" }), { target: { value: "all" } });
}

function rowsOf(kind: string): HTMLElement[] {
  return [...table().querySelectorAll<HTMLElement>(`tbody tr[data-kind="${kind}"]`)];
}

describe("timeline view", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    ctx = setup();
  });
  afterEach(teardown);

  test("marks the OOM kill and the exit codes, and only the OOM kill as out of memory", async () => {
    await open();
    await waitFor(() => expect(rowsOf("die").length).toBeGreaterThan(0));
    const oom = [...table().querySelectorAll<HTMLElement>('tbody tr[data-oom="true"]')];
    expect(oom.length).toBe(2); // the oom event and its die
    expect(oom.some((r) => r.textContent?.includes("exit 137") && r.textContent.includes("Out of memory"))).toBe(true);
    // The signal kill (exit 137 too) is not called out of memory.
    const killed = rowsOf("die").filter((r) => r.textContent?.includes("exit 137") && r.dataset.oom === "false");
    expect(killed.length).toBe(1);
    expect(rowsOf("kill")[0].textContent).toContain("signal 9");
  });

  test("filters by kind and by text, and adds rows the shell pushes", async () => {
    await open();
    await waitFor(() => expect(rowsOf("die").length).toBeGreaterThan(0));
    await fireEvent.change(screen.getByRole("combobox", { name: "Kind" }), { target: { value: "audit" } });
    await waitFor(() => {
      const kinds = new Set([...table().querySelectorAll<HTMLElement>("tbody tr[data-kind]")].map((r) => r.dataset.kind));
      expect([...kinds]).toEqual(["audit"]);
    });
    const spec = ctx.mock.specs[0];
    ctx.mock.emit("timeline", [ctx.mock.timeline.audit(spec, "restart", `engine says ${IMG}`)]);
    await waitFor(() => expect(table().textContent).toContain(`by window: failed: engine says ${IMG}`));
    expect(document.querySelector("img")).toBeNull();

    await fireEvent.change(screen.getByRole("combobox", { name: "Kind" }), { target: { value: "" } });
    await fireEvent.input(screen.getByRole("searchbox", { name: "Search the timeline" }), { target: { value: "nginx" } });
    await waitFor(() => {
      const rows = [...table().querySelectorAll<HTMLElement>("tbody tr[data-kind]")];
      expect(rows.map((r) => r.dataset.kind)).toEqual(["image_pull"]);
    });
  });

  test("a container name with HTML is text", async () => {
    const spec = ctx.mock.specs[0];
    ctx.mock.timeline.container({ ...spec, name: IMG }, Date.now() - 1000, "die", { exit_code: 3, oom: false });
    await open();
    await waitFor(() => expect(table().textContent).toContain(IMG));
    expect(document.querySelector("img")).toBeNull();
  });

  test("exports the filtered rows as JSON lines with the CLI's columns, and never replaces a file", async () => {
    await open();
    await waitFor(() => expect(rowsOf("die").length).toBeGreaterThan(0));
    await fireEvent.change(screen.getByRole("combobox", { name: "Kind" }), { target: { value: "die" } });
    await waitFor(() => expect(new Set([...table().querySelectorAll<HTMLElement>("tbody tr[data-kind]")].map((r) => r.dataset.kind))).toEqual(new Set(["die"])));
    const shown = rowsOf("die").length;

    await fireEvent.click(screen.getByRole("button", { name: /Export/ }));
    const dialog = await screen.findByRole("dialog", { name: "Export the timeline" });
    await fireEvent.click(within(dialog).getByRole("radio", { name: "JSON lines" }));
    const path = within(dialog).getByRole("textbox") as HTMLInputElement;
    await waitFor(() => expect(path.value).toMatch(/\.jsonl$/));
    await fireEvent.input(path, { target: { value: "/tmp/night.jsonl" } });
    await fireEvent.click(within(dialog).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());

    const written = ctx.mock.timeline.files.get("/tmp/night.jsonl")!;
    const rows = written.trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.length).toBe(shown);
    expect(rows.every((r) => r.kind === "die")).toBe(true);
    expect(Object.keys(rows[0])).toEqual(["time", "host", "container", "kind", "object", "id", "exit_code", "oom", "signal", "health", "source", "actor", "action", "result", "error"]);

    await fireEvent.click(screen.getByRole("button", { name: /Export/ }));
    const again = await screen.findByRole("dialog", { name: "Export the timeline" });
    await fireEvent.input(within(again).getByRole("textbox"), { target: { value: "/tmp/night.jsonl" } });
    await fireEvent.click(within(again).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(within(again).getByRole("alert").textContent).toContain("already exists"));
  });
});

describe("history charts", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    ctx = setup();
  });
  afterEach(teardown);

  test("mark the container's engine events on the time axis, and only its own", async () => {
    const [mine, other] = ctx.mock.specs;
    ctx.mock.timeline.container(mine, Date.now() - 5 * 60_000, "die", { exit_code: 137, oom: true });
    ctx.mock.timeline.container(other, Date.now() - 4 * 60_000, "die", { exit_code: 1, oom: false });
    const { container } = render(MetricChart, {
      props: {
        title: "CPU",
        target: { kind: "container", host: mine.host, id: mine.id },
        range: "1h",
        format: (v: number) => `${v}`,
        unit: { kind: "percent" },
        series: [{ metric: "cpu_percent", label: "CPU", colour: "--accent" }],
        reader: () => null,
      },
    });
    const figure = () => container.querySelector("figure.chart") as HTMLElement;
    await waitFor(() => expect(figure().dataset.markers).toBe("1"));
    expect(figure().getAttribute("aria-label")).toContain("Events marked:");
    expect(figure().getAttribute("aria-label")).toContain("died (exit code 137, OUT OF MEMORY)");
    // A live event of this container is added without a reload.
    ctx.mock.emit("timeline", [ctx.mock.timeline.container(mine, Date.now(), "restart")]);
    await waitFor(() => expect(figure().dataset.markers).toBe("2"));
    expect(screen.getByRole("button", { name: "Export the visible range of CPU" })).toBeTruthy();
  });
});
