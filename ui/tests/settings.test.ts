import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { defaultConfig } from "../src/lib/mock/data";
import { validateConfig } from "../src/lib/mock/validate";
import Settings from "../src/views/Settings.svelte";
import { setup, teardown } from "./helpers";

describe("settings", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  async function open() {
    const view = render(Settings, { props: { debounceMs: 0 } });
    await waitFor(() => expect(screen.getByLabelText("Sampling interval")).toBeTruthy());
    return view;
  }

  /** The message shown for a field: the element its input's aria-describedby names. */
  function messageFor(input: HTMLElement): string {
    const id = input.getAttribute("aria-describedby");
    return id ? (document.getElementById(id)?.textContent ?? "") : "";
  }

  test("shows validate_settings' message next to the field its key names", async () => {
    await open();
    const interval = screen.getByLabelText("Sampling interval");
    await fireEvent.input(interval, { target: { value: "10ms" } });
    const expected = '`interval` = "10ms" is not valid: expected a duration between "250ms" and "1h", such as "2s"';
    await waitFor(() => expect(messageFor(interval)).toBe(expected));
    expect(interval.getAttribute("aria-invalid")).toBe("true");
    const field = interval.closest("[data-key]")!;
    expect(field.getAttribute("data-key")).toBe("interval");
    expect(field.querySelector("[role=alert]")?.textContent).toBe(expected);
    expect(ctx.mock.calls.some((c) => c.command === "validate_settings")).toBe(true);
    expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(true);

    // Fixing it clears the message.
    await fireEvent.input(interval, { target: { value: "5s" } });
    await waitFor(() => expect(interval.getAttribute("aria-invalid")).toBe("false"));
    expect(field.querySelector("[role=alert]")).toBeNull();
  });

  test("a threshold message appears in its row and marks the input", async () => {
    await open();
    const warning = screen.getByLabelText("Host CPU warning (%)");
    await fireEvent.input(warning, { target: { value: "99" } });
    await waitFor(() => expect(warning.getAttribute("aria-invalid")).toBe("true"));
    expect(messageFor(warning)).toBe("`thresholds.host_cpu_percent.warning` = 99 is not valid: expected a value below critical (95 %)");
  });

  test("text that is not a duration gets the engine's parse message at its field", async () => {
    await open();
    const cooldown = screen.getByLabelText("Cooldown");
    await fireEvent.input(cooldown, { target: { value: "soon" } });
    await waitFor(() =>
      expect(messageFor(cooldown)).toBe('`alerts.cooldown`: invalid duration "soon": expected a duration such as "2s", "500ms" or "1m"'),
    );
  });

  test("an emptied number is sent as null and the engine names the field", async () => {
    await open();
    const ring = screen.getByLabelText("Log lines kept per container");
    await fireEvent.input(ring, { target: { value: "" } });
    await waitFor(() => expect(messageFor(ring)).toBe("`logs.ring_lines`: invalid type: null, expected usize"));
  });

  test("the engine's message for an override is shown at the override", async () => {
    await open();
    const selector = screen.getByLabelText("Override 1: service");
    await fireEvent.input(selector, { target: { value: "  " } });
    await waitFor(() => expect(screen.getAllByText(/exactly one non-empty selector/).length).toBeGreaterThan(0));
    const keys = screen.getAllByText(/exactly one non-empty selector/).map((el) => el.closest("[data-key]")?.getAttribute("data-key"));
    expect(keys).toContain("overrides[0]");
    expect(selector.getAttribute("aria-invalid")).toBe("true");
  });

  test("saves a valid change with save_settings", async () => {
    await open();
    await fireEvent.input(screen.getByLabelText("Quiet hours"), { target: { value: "23:00-06:30" } });
    const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    await fireEvent.click(save);
    await waitFor(() => expect(ctx.mock.calls.some((c) => c.command === "save_settings")).toBe(true));
    expect(ctx.mock.config.notifications.quiet_hours).toBe("23:00-06:30");
    await waitFor(() => expect(save.disabled).toBe(true));
  });

  test("the mock's rules match the engine's messages", () => {
    const c = defaultConfig();
    expect(validateConfig(c)).toEqual({ ok: true, key: null, message: null });
    c.history.raw_retention = "5m";
    expect(validateConfig(c, "/x/config.toml")).toEqual({
      ok: false,
      key: "history.raw_retention",
      message:
        'invalid config file /x/config.toml: `history.raw_retention` = "5m" is not valid: expected a duration of at least "10m", such as "48h" or "30d"',
    });
  });
});
