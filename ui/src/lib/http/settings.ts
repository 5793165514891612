// The Settings view's commands over `docktray serve`'s settings routes (src/sinks/api/settings.rs, docs/api.md
// "Settings"): one REST call each, answering what the desktop's command answers. Changes need `[api]
// allow_actions = true` on the server; a refusal arrives as the server's message.
import type { CommandName, Commands } from "../ipc";

type Args<K extends CommandName> = Commands[K]["args"];
/** One REST call (HttpBackend.request): method, path under the page's directory, JSON body. */
export type Request = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** The settings commands the page can run; `undefined` for any other command. */
export const SETTINGS_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>([
  "get_settings",
  "validate_settings",
  "save_settings",
  "set_notifications_paused",
  "webdock_token_status",
  "webdock_test_connection",
  "webdock_set_token",
  "webdock_remove_token",
  "get_vps_history",
  "check_host",
  "host_fingerprint",
  "trust_host",
  "save_host",
  "remove_host",
  "discover_hosts",
  "retry_caddy",
  "test_channel",
]);

const at = (value: unknown) => encodeURIComponent(String(value));

/** Runs one of SETTINGS_COMMANDS through `request`. */
export async function settingsCommand(command: CommandName, args: unknown, request: Request): Promise<unknown> {
  const a = args as Record<string, unknown>;
  switch (command) {
    case "get_settings":
      return request("GET", "api/v1/settings");
    case "validate_settings":
      return request("POST", "api/v1/settings/validate", { config: (args as Args<"validate_settings">).config });
    case "save_settings": {
      const answer = await request<{ restart_needed: string[] }>("PUT", "api/v1/settings", {
        config: (args as Args<"save_settings">).config,
      });
      return answer.restart_needed;
    }
    case "set_notifications_paused": {
      const { paused, minutes } = args as Args<"set_notifications_paused">;
      await request("POST", "api/v1/notifications/pause", { paused, minutes });
      return null;
    }
    case "webdock_token_status":
      return request("GET", `api/v1/webdock/accounts/${at(a.account)}/token`);
    case "webdock_test_connection": {
      const { account, token } = args as Args<"webdock_test_connection">;
      return request("POST", "api/v1/webdock/test", { account, token });
    }
    case "webdock_set_token": {
      const { account, token } = args as Args<"webdock_set_token">;
      return request("PUT", "api/v1/webdock/token", { account, token });
    }
    case "webdock_remove_token": {
      const answer = await request<{ removed: boolean }>("DELETE", `api/v1/webdock/accounts/${at(a.account)}/token`);
      return answer.removed;
    }
    case "get_vps_history":
      return request("GET", `api/v1/webdock/accounts/${at(a.account)}/servers/${at(a.slug)}/history`);
    case "check_host":
      return request("POST", "api/v1/ssh-hosts/check", { host: a.host });
    case "host_fingerprint":
      return request("POST", "api/v1/ssh-hosts/fingerprint", { host: a.host });
    case "trust_host": {
      const { host, fingerprints } = args as Args<"trust_host">;
      const answer = await request<{ file: string }>("POST", "api/v1/ssh-hosts/trust", { host, fingerprints });
      return answer.file;
    }
    case "save_host": {
      const { host, replacing } = args as Args<"save_host">;
      const answer = await request<{ restart_needed: string[] }>("POST", "api/v1/ssh-hosts", { host, replacing });
      return answer.restart_needed;
    }
    case "remove_host": {
      const answer = await request<{ restart_needed: string[] }>("DELETE", `api/v1/ssh-hosts/${at(a.name)}`);
      return answer.restart_needed;
    }
    case "discover_hosts":
      return request("GET", "api/v1/ssh-hosts/discover");
    case "retry_caddy":
      await request("POST", "api/v1/caddy/retry");
      return null;
    case "test_channel": {
      const answer = await request<{ sent_to: string }>("POST", `api/v1/channels/${at(a.channel)}/test`);
      return answer.sent_to;
    }
    default:
      return undefined;
  }
}
