import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { MOCK_WEBDOCK_TOKEN } from "../src/lib/mock/backend";
import WebdockEditor from "../src/views/settings/WebdockEditor.svelte";
import type { WebdockAccount } from "../src/lib/bindings/WebdockAccount";
import { setup, teardown } from "./helpers";

describe("Webdock accounts in settings", () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => (ctx = setup()));
  afterEach(teardown);

  function account(): WebdockAccount {
    return { name: "work", servers: "all", interval: "1m", base_url: "https://api.webdock.io/v1", timeout: "15s" };
  }

  test("a token is tested, stored, cleared from the field and never shown; servers can be chosen", async () => {
    const accounts = [account()];
    render(WebdockEditor, { props: { accounts, errorFor: () => null } });
    const state = screen.getByLabelText("Token of account 1");
    await waitFor(() => expect(state.textContent).toBe("Token: not set"));
    const field = screen.getByLabelText("Webdock account 1 API token") as HTMLInputElement;
    expect(field.type).toBe("password");

    // A token Webdock rejects: the message says so, nothing is stored.
    await fireEvent.input(field, { target: { value: "wrong-token" } });
    await fireEvent.click(screen.getByRole("button", { name: "Save token" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("rejected the token"));
    expect(ctx.mock.webdockTokens.has("work")).toBe(false);

    // The right one: stored, the field emptied, the state "set", the servers listed.
    await fireEvent.input(field, { target: { value: MOCK_WEBDOCK_TOKEN } });
    await fireEvent.click(screen.getByRole("button", { name: "Save token" }));
    await waitFor(() => expect(state.textContent).toBe("Token: set"));
    expect(ctx.mock.webdockTokens.has("work")).toBe(true);
    expect(field.value).toBe("");
    expect(document.body.innerHTML).not.toContain(MOCK_WEBDOCK_TOKEN);
    expect(screen.getByRole("status").textContent).toContain("2 servers visible");

    // Unticking one server turns "all" into the list of the others.
    const boxes = screen.getAllByRole("checkbox") as HTMLInputElement[];
    expect(boxes.map((b) => b.checked)).toEqual([true, true]);
    await fireEvent.click(boxes[1]);
    // (The settings view binds a reactive config; here the plain array shows what would be saved.)
    await waitFor(() => expect(accounts[0].servers).toEqual(["shop1"]));

    // Removing the token.
    await fireEvent.click(screen.getByRole("button", { name: "Remove token" }));
    await waitFor(() => expect(state.textContent).toBe("Token: not set"));
    expect(ctx.mock.webdockTokens.has("work")).toBe(false);
    const sent = ctx.mock.calls.filter((c) => c.command === "webdock_set_token");
    expect(sent).toHaveLength(2);
  });
});
