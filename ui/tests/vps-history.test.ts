import { render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import VpsHistory from "../src/components/VpsHistory.svelte";
import { setup, teardown } from "./helpers";

describe("VpsHistory", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  test("asks the shell for Webdock's history of the server and charts it", async () => {
    render(VpsHistory, { props: { account: "work", slug: "shop1" } });
    await waitFor(() => expect(screen.getByRole("img", { name: "CPU, last 12 h" })).toBeTruthy());
    const text = document.body.textContent ?? "";
    expect(text).toContain("latest 20.0 % · peak 50.0 %");
    expect(text).toContain("Disk (7 days)");
    expect(ctx.mock.calls.find((c) => c.command === "get_vps_history")?.args).toEqual({ account: "work", slug: "shop1" });
  });
});
