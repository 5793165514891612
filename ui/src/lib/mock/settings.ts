// The mock backend's settings: the config file's contents (validated as the Rust side validates them), Webdock
// tokens "in the keychain", SSH hosts with their host keys, and test messages through notification channels.
import type { Config } from "../bindings/Config";
import type { HostConfig } from "../bindings/HostConfig";
import type { StepResult } from "../bindings/StepResult";
import type { CommandName, Commands } from "../ipc";
import { defaultConfig } from "./data";
import { channelNames } from "./foresight";
import { MOCK_CONFIG_PATH, validateConfig } from "./validate";
import { NOT_MINE } from "./workbench";

/** The one token the mock Webdock accepts. */
export const MOCK_WEBDOCK_TOKEN = "mock-webdock-token";

/** The one host key every mock SSH host offers. */
export const MOCK_HOST_KEY = { key_type: "ssh-ed25519", fingerprint: "SHA256:mOcKk3yF1ngerpr1ntN0tRealAtA11xyz0123456789" };

/** `host` of `user@host[:port]`. */
const hostPart = (destination: string) => destination.replace(/^.*@/, "").replace(/:\d+$/, "");

export class MockSettings {
  config: Config = defaultConfig();
  /** Webdock accounts with a token "in the keychain" (the mock keeps names only). */
  readonly webdockTokens = new Set<string>();
  /** SSH hosts whose key is trusted (in known_hosts). */
  readonly trusted = new Set<string>();
  /** Notification channels: failures to answer "send test" with (tests set them), test messages sent by name. */
  readonly failingChannels = new Map<string, string>();
  readonly channelTests = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    /** Pushes a snapshot (a channel's test changes what the snapshot says of it). */
    private readonly tick: () => void,
  ) {}

  /** The answer to a settings command, or NOT_MINE. */
  answer(command: CommandName, raw: unknown): unknown {
    switch (command) {
      case "get_settings":
        return { config: structuredClone(this.config), path: MOCK_CONFIG_PATH };
      case "validate_settings": {
        const { config } = raw as Commands["validate_settings"]["args"];
        return validateConfig(config);
      }
      case "save_settings": {
        const { config } = raw as Commands["save_settings"]["args"];
        const result = validateConfig(config);
        if (!result.ok) throw result.message;
        const later = config.interval !== this.config.interval ? ["interval"] : [];
        this.config = structuredClone(config);
        return later;
      }
      case "webdock_token_status": {
        const { account } = raw as Commands["webdock_token_status"]["args"];
        const set = this.webdockTokens.has(account);
        return { account, state: set ? "set" : "not set", source: set ? "keychain" : null, problem: null };
      }
      case "webdock_test_connection": {
        const { account, token } = raw as Commands["webdock_test_connection"]["args"];
        return this.webdockTest(token ?? (this.webdockTokens.has(account.name) ? MOCK_WEBDOCK_TOKEN : ""), account.name);
      }
      case "webdock_set_token": {
        const { account, token } = raw as Commands["webdock_set_token"]["args"];
        const test = this.webdockTest(token, account.name);
        if (test.ok) this.webdockTokens.add(account.name);
        return test;
      }
      case "webdock_remove_token": {
        const { account } = raw as Commands["webdock_remove_token"]["args"];
        return this.webdockTokens.delete(account);
      }
      case "discover_hosts":
        return [
          { name: "build-01", destination: "build-01", origin: "ssh_config", resolved: "ci@10.9.8.7:2200" },
          { name: "nas", destination: "admin@nas.lan", origin: "context" },
        ].filter((found) => !this.config.hosts.some((h) => h.name === found.name || h.destination === found.destination));
      case "check_host": {
        const { host } = raw as Commands["check_host"]["args"];
        return this.checkHost(host);
      }
      case "host_fingerprint": {
        const { host } = raw as Commands["host_fingerprint"]["args"];
        return { known_hosts_name: hostPart(host.destination), known: this.trusted.has(hostPart(host.destination)), keys: [MOCK_HOST_KEY] };
      }
      case "trust_host": {
        const { host, fingerprints } = raw as Commands["trust_host"]["args"];
        if (!fingerprints.includes(MOCK_HOST_KEY.fingerprint)) {
          throw `${hostPart(host.destination)} now offers ${MOCK_HOST_KEY.key_type} ${MOCK_HOST_KEY.fingerprint}, which was not the fingerprint you confirmed: nothing was trusted`;
        }
        this.trusted.add(hostPart(host.destination));
        return "/home/me/.ssh/known_hosts";
      }
      case "save_host": {
        const { host, replacing } = raw as Commands["save_host"]["args"];
        if (this.config.hosts.some((h) => h.name === host.name && h.name !== replacing)) {
          throw `a host named ${host.name} is already configured: pick another name`;
        }
        const hosts = structuredClone(this.config.hosts);
        const at = replacing === null ? -1 : hosts.findIndex((h) => h.name === replacing);
        if (replacing !== null && at < 0) throw `no host named ${replacing} in the config file`;
        if (at < 0) hosts.push(structuredClone(host));
        else hosts[at] = structuredClone(host);
        const result = validateConfig({ ...this.config, hosts });
        if (!result.ok) throw result.message;
        this.config = { ...this.config, hosts };
        return [];
      }
      case "remove_host": {
        const { name } = raw as Commands["remove_host"]["args"];
        if (!this.config.hosts.some((h) => h.name === name)) throw `no host named ${name} in the config file`;
        this.config = { ...this.config, hosts: this.config.hosts.filter((h) => h.name !== name) };
        return [];
      }
      case "test_channel": {
        const { channel } = raw as Commands["test_channel"]["args"];
        const names = channelNames(this.config);
        if (!names.includes(channel)) {
          throw `no channel named ${channel}: the configured ones are ${names.join(", ") || "none"} (\`docktray notify list\`)`;
        }
        const failure = this.failingChannels.get(channel);
        if (failure) throw `${channel}: ${failure}`;
        this.channelTests.set(channel, (this.channelTests.get(channel) ?? 0) + 1);
        this.tick();
        return channel.startsWith("webhook:") ? "POST to the webhook's URL" : `sent through ${channel}`;
      }
      default:
        return NOT_MINE;
    }
  }

  private webdockTest(token: string, account: string) {
    const rate_limit = { limit: 5000, remaining: 4990, reset_at: new Date(this.now() + 3600_000).toISOString(), blocked_until: null };
    if (token.trim() !== MOCK_WEBDOCK_TOKEN) {
      return {
        ok: false,
        message: `Webdock rejected the token of account '${account}' (401: bad or revoked token): create an API token in the Webdock dashboard (Account > API & Integrations) and run \`docktray webdock login ${account}\``,
        servers: [],
        rate_limit,
      };
    }
    return {
      ok: true,
      message: null,
      servers: [
        { slug: "shop1", name: "Shop", status: "running", location: "fi", profile: "bit-2024", ipv4: "203.0.113.10" },
        { slug: "blog1", name: "Blog", status: "stopped", location: "dk", profile: "bit-2024", ipv4: "203.0.113.20" },
      ],
      rate_limit,
    };
  }

  /** The step-by-step check: port 1 refuses (TCP), a host not trusted yet fails at the host key, else all pass. */
  private checkHost(host: HostConfig): StepResult[] {
    const name = hostPart(host.destination);
    const steps: StepResult[] = [{ step: "DNS", ok: true, detail: `${name} resolves to 192.0.2.10:22` }];
    if (host.destination.endsWith(":1")) {
      steps.push({ step: "TCP", ok: false, detail: `cannot connect to ${name}:1 (Connection refused): is sshd running, the port right, a firewall open?` });
      return steps;
    }
    steps.push({ step: "TCP", ok: true, detail: "192.0.2.10:22 accepts connections" });
    if (!this.trusted.has(name)) {
      steps.push({ step: "host key", ok: false, detail: `${name} is not in known_hosts (it offers ${MOCK_HOST_KEY.key_type} ${MOCK_HOST_KEY.fingerprint}): compare the fingerprint and trust it` });
      return steps;
    }
    steps.push({ step: "host key", ok: true, detail: "known" });
    steps.push({ step: "SSH login and socket", ok: true, detail: `logged in; ${host.socket} forwarded` });
    steps.push({ step: "Docker", ok: true, detail: "Docker 27.3.1 (API 1.47)" });
    return steps;
  }
}
