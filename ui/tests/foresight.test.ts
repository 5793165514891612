// Issue 17 in the window: notification channels and log alerts in the settings (with "Send test"), forecasts
// beside the gauges with a dashed projection on the chart.
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { live } from "../src/lib/state/live.svelte";
import StatsTab from "../src/views/detail/StatsTab.svelte";
import Settings from "../src/views/Settings.svelte";
import { setup, teardown } from "./helpers";

describe("notification channels and log alerts in the settings", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  async function open() {
    const view = render(Settings, { props: { debounceMs: 0 } });
    await waitFor(() => expect(screen.getByLabelText("Webhook URL")).toBeTruthy());
    return view;
  }

  test("Send test goes through test_channel and shows where it went", async () => {
    await open();
    const button = screen.getByRole("button", { name: "Send a test message through webhook:ops" });
    await fireEvent.click(button);
    await waitFor(() => expect(screen.getByRole("status").textContent).toMatch(/^Test sent: /));
    expect(ctx.mock.calls.filter((c) => c.command === "test_channel").map((c) => c.args)).toEqual([{ channel: "webhook:ops" }]);
    expect(ctx.mock.channelTests.get("webhook:ops")).toBe(1);
  });

  test("a failing channel shows its error, at the button and in its state", async () => {
    ctx.mock.failingChannels.set("webhook:ops", "connection refused (https://hooks.example.net/docktray)");
    live.apply(ctx.mock.snapshot());
    await open();
    expect(screen.getByText(/^Failing: connection refused/)).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Send a test message through webhook:ops" }));
    await waitFor(() =>
      expect(screen.getByRole("alert").textContent).toBe(
        "Test failed: webhook:ops: connection refused (https://hooks.example.net/docktray)",
      ),
    );
  });

  test("channels and log alerts are saved into the file's settings", async () => {
    await open();
    await fireEvent.input(screen.getByLabelText("ntfy topic"), { target: { value: "docktray-alerts" } });
    await fireEvent.change(screen.getByLabelText("Minimum level (ntfy)"), { target: { value: "critical" } });
    await fireEvent.input(screen.getByLabelText("Quiet hours (webhook ops)"), { target: { value: "23:00-06:00" } });
    await fireEvent.click(screen.getByRole("button", { name: "Add log alert" }));
    const rule = screen.getByRole("group", { name: "Log alert 2" });
    const inRule = (label: string) => within(rule).getByLabelText(label);
    await fireEvent.input(inRule("Alert name"), { target: { value: "panics" } });
    await fireEvent.input(inRule("Containers"), { target: { value: "api" } });
    await fireEvent.input(inRule("Pattern"), { target: { value: "panic|FATAL" } });
    const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    await fireEvent.click(save);
    await waitFor(() => expect(ctx.mock.calls.some((c) => c.command === "save_settings")).toBe(true));
    const saved = ctx.mock.config;
    expect(saved.notifications.ntfy.topic).toBe("docktray-alerts");
    expect(saved.notifications.ntfy.min_level).toBe("critical");
    expect(saved.notifications.webhooks[0].quiet_hours).toBe("23:00-06:00");
    expect(saved.log_alerts[1]).toEqual({
      name: "panics",
      container: "api",
      pattern: "panic|FATAL",
      count: 10,
      window: "5m",
      level: "warning",
    });
    // The ntfy channel now has a status line and a Send test button.
    expect(screen.getByRole("button", { name: "Send a test message through ntfy" })).toBeTruthy();
  });
});

describe("forecasts in the window", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  test("a rising forecast is shown beside the gauges and drawn dashed on the memory chart", async () => {
    const rising = live.snapshot!.forecasts.find((f) => f.state === "rising")!;
    expect(rising).toBeTruthy();
    const c = live.snapshot!.containers.find((x) => x.id === rising.target.id)!;
    const view = render(StatsTab, { props: { container: c } });
    const list = screen.getByRole("list", { name: "Forecasts" });
    expect(list.textContent).toContain(`Memory: ${rising.summary}`);
    expect(rising.summary).toMatch(/reaches its limit in about \d+ h/);
    await waitFor(() => {
      const memory = [...view.container.querySelectorAll("figure.chart")].find((f) => f.textContent?.includes("Memory"));
      expect(memory?.textContent).toContain("Projection");
    });
  });

  test("a container without a forecast shows none and no projection", async () => {
    const rising = live.snapshot!.forecasts.find((f) => f.state === "rising")!;
    const other = live.snapshot!.containers.find((x) => x.id !== rising.target.id && x.state === "running")!;
    const view = render(StatsTab, { props: { container: other } });
    expect(screen.queryByRole("list", { name: "Forecasts" })).toBeNull();
    await waitFor(() => expect(view.container.querySelectorAll("figure.chart").length).toBe(4));
    expect(view.container.textContent).not.toContain("Projection");
    expect(ctx.mock.calls.length).toBeGreaterThan(0);
  });
});
