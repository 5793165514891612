// The mock backend's workbench: images, volumes and networks derived from the generated fleet, disk usage
// counted from them as `docker system df` counts it, removals with the engine's refusals, stack actions, and a
// tiny shell for the Terminal tab (echo, arithmetic, stty size, exit).
import type { Action } from "../bindings/Action";
import type { DockerDiskUsage } from "../bindings/DockerDiskUsage";
import type { ImageSummary } from "../bindings/ImageSummary";
import type { NetworkSummary } from "../bindings/NetworkSummary";
import type { Reclaimed } from "../bindings/Reclaimed";
import type { StackAction } from "../bindings/StackAction";
import type { StackReport } from "../bindings/StackReport";
import type { VolumeSummary } from "../bindings/VolumeSummary";
import type { CommandName, Commands, ExecHandlers, ExecRequest, ExecSession } from "../ipc";
import { type ContainerSpec, MIB, seedOf } from "./data";

/** Returned by `answer` for commands that are not the workbench's. */
export const NOT_MINE = Symbol("not a workbench command");

const hex = (text: string) => {
  let out = "";
  for (let i = 0; out.length < 64; i++) out += seedOf(`${text}#${i}`).toString(16).padStart(8, "0");
  return `sha256:${out.slice(0, 64)}`;
};
const DB_SERVICES = ["db", "postgres", "mysql", "redis", "cache", "mongo"];

export class MockWorkbench {
  private readonly removed = new Set<string>();

  constructor(
    private readonly specs: () => ContainerSpec[],
    private readonly now: () => number,
    private readonly act: (spec: ContainerSpec, action: Action) => void,
  ) {}

  images(host: string): ImageSummary[] {
    const onHost = this.specs().filter((s) => s.host === host);
    const refs = [...new Set(onHost.map((s) => (s.image.includes(":") ? s.image : `${s.image}:latest`)))];
    const list: ImageSummary[] = refs.map((ref) => ({
      host,
      id: hex(`${host}/${ref}`),
      tags: [ref],
      digests: [],
      size: (40 + (seedOf(ref) % 360)) * MIB,
      created: new Date(this.now() - (1 + (seedOf(ref) % 40)) * 86400_000).toISOString(),
      containers: onHost.filter((s) => s.image === ref || `${s.image}:latest` === ref).map((s) => s.name),
      dangling: false,
    }));
    list.push(
      { host, id: hex(`${host}/alpine`), tags: ["alpine:3.20"], digests: [], size: 7.8 * MIB, created: new Date(this.now() - 90 * 86400_000).toISOString(), containers: [], dangling: false },
      { host, id: hex(`${host}/old`), tags: [], digests: [], size: 212 * MIB, created: new Date(this.now() - 12 * 86400_000).toISOString(), containers: [], dangling: true },
    );
    return list.filter((i) => !this.removed.has(`${host}/image/${i.id}`));
  }

  volumes(host: string): VolumeSummary[] {
    const onHost = this.specs().filter((s) => s.host === host);
    const projects = [...new Set(onHost.map((s) => s.project).filter((p): p is string => !!p))];
    const list: VolumeSummary[] = projects.map((project) => ({
      host,
      name: `${project}_data`,
      driver: "local",
      mountpoint: `/var/lib/docker/volumes/${project}_data/_data`,
      created: new Date(this.now() - 30 * 86400_000).toISOString(),
      size: (5 + (seedOf(project) % 900)) * MIB,
      containers: onHost.filter((s) => s.project === project).slice(0, 1).map((s) => s.name),
    }));
    list.push({ host, name: "old-cache", driver: "local", mountpoint: "/var/lib/docker/volumes/old-cache/_data", created: null, size: 64 * MIB, containers: [] });
    return list.filter((v) => !this.removed.has(`${host}/volume/${v.name}`));
  }

  networks(host: string): NetworkSummary[] {
    const onHost = this.specs().filter((s) => s.host === host);
    const projects = [...new Set(onHost.map((s) => s.project).filter((p): p is string => !!p))];
    const builtin = (name: string, driver: string, subnets: string[]): NetworkSummary => ({
      host, id: hex(`${host}/${name}`).slice(7), name, driver, scope: "local", internal: false, builtin: true, subnets, gateways: [], containers: [],
    });
    const list: NetworkSummary[] = [builtin("bridge", "bridge", ["172.17.0.0/16"]), builtin("host", "host", []), builtin("none", "null", [])];
    projects.forEach((project, n) => {
      const members = onHost.filter((s) => s.project === project && s.state === "running");
      list.push({
        host, id: hex(`${host}/${project}`).slice(7), name: `${project}_default`, driver: "bridge", scope: "local", internal: false, builtin: false,
        subnets: [`172.${18 + n}.0.0/16`], gateways: [`172.${18 + n}.0.1`],
        containers: members.map((s, i) => ({ container: s.name, ipv4: `172.${18 + n}.0.${i + 2}/16`, ipv6: null, mac: null })),
      });
    });
    return list.filter((v) => !this.removed.has(`${host}/network/${v.name}`));
  }

  diskUsage(host: string): DockerDiskUsage {
    const images = this.images(host);
    const volumes = this.volumes(host);
    const containers = this.specs().filter((s) => s.host === host);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const layer = (s: ContainerSpec) => (1 + (seedOf(s.id) % 50)) * MIB;
    const running = (s: ContainerSpec) => ["running", "paused", "restarting"].includes(s.state);
    return {
      host,
      images: {
        total: images.length,
        active: images.filter((i) => i.containers.length).length,
        size: sum(images.map((i) => i.size)),
        reclaimable: sum(images.filter((i) => !i.containers.length).map((i) => i.size)),
      },
      containers: {
        total: containers.length,
        active: containers.filter(running).length,
        size: sum(containers.map(layer)),
        reclaimable: sum(containers.filter((s) => !running(s)).map(layer)),
      },
      volumes: {
        total: volumes.length,
        active: volumes.filter((v) => v.containers.length).length,
        size: sum(volumes.map((v) => v.size ?? 0)),
        reclaimable: sum(volumes.filter((v) => !v.containers.length).map((v) => v.size ?? 0)),
      },
      build_cache: { total: 0, active: 0, size: 0, reclaimable: 0 },
      root_dir: "/var/lib/docker",
      measured_at: new Date(this.now()).toISOString(),
    };
  }

  private stackPlan(host: string, project: string, action: StackAction): StackReport {
    const members = this.specs().filter((s) => s.host === host && s.project === project);
    if (!members.length) throw `no compose project '${project}' on ${host} (its containers carry the label com.docker.compose.project; see \`docktray status\`)`;
    const first = members.filter((s) => DB_SERVICES.includes(s.service ?? "")).map((s) => s.name).sort();
    const rest = members.filter((s) => !DB_SERVICES.includes(s.service ?? "")).map((s) => s.name).sort();
    const order = [first, rest].filter((step) => step.length);
    const starts = order.map((containers) => ({ action: "start", containers }));
    const stops = [...order].reverse().map((containers) => ({ action: "stop", containers }));
    const steps = action === "start" ? starts : action === "stop" ? stops : [...stops, ...starts];
    return { host, project, action, steps, failed: [], cycle: [] };
  }

  private remove(host: string, kind: string, id: string, space: number, removed: string): Reclaimed {
    this.removed.add(`${host}/${kind}/${id}`);
    return { host, removed: [removed], space };
  }

  answer(command: CommandName, raw: unknown): unknown {
    switch (command) {
      case "list_images":
        return this.images((raw as Commands["list_images"]["args"]).host);
      case "list_volumes":
        return this.volumes((raw as Commands["list_volumes"]["args"]).host);
      case "list_networks":
        return this.networks((raw as Commands["list_networks"]["args"]).host);
      case "get_disk_usage":
        return this.diskUsage((raw as Commands["get_disk_usage"]["args"]).host);
      case "remove_image": {
        const { host, image, force } = raw as Commands["remove_image"]["args"];
        const found = this.images(host).find((i) => i.id === image || i.tags.includes(image));
        if (!found) throw `no image '${image}' on ${host} (see \`docktray images\`)`;
        if (found.containers.length && !force) {
          const who = found.containers.length === 1 ? `container ${found.containers[0]}` : `containers ${found.containers.join(", ")}`;
          throw `image '${image}' on ${host} is used by ${who}: remove those containers first, or force the removal (a running container keeps its image anyway)`;
        }
        return this.remove(host, "image", found.id, found.size, `deleted ${found.id}`);
      }
      case "prune_images": {
        const { host } = raw as Commands["prune_images"]["args"];
        const dangling = this.images(host).filter((i) => i.dangling);
        dangling.forEach((i) => this.removed.add(`${host}/image/${i.id}`));
        return { host, removed: dangling.map((i) => i.id), space: dangling.reduce((a, i) => a + i.size, 0) };
      }
      case "remove_volume": {
        const { host, volume } = raw as Commands["remove_volume"]["args"];
        const found = this.volumes(host).find((v) => v.name === volume);
        if (!found) throw `no volume '${volume}' on ${host} (see \`docktray volumes\`)`;
        if (found.containers.length) throw `volume '${volume}' on ${host} is used by container ${found.containers.join(", ")}: remove those containers first (their data in this volume goes with it)`;
        return this.remove(host, "volume", volume, found.size ?? 0, volume);
      }
      case "prune_volumes": {
        const { host } = raw as Commands["prune_volumes"]["args"];
        const unused = this.volumes(host).filter((v) => !v.containers.length);
        unused.forEach((v) => this.removed.add(`${host}/volume/${v.name}`));
        return { host, removed: unused.map((v) => v.name), space: unused.reduce((a, v) => a + (v.size ?? 0), 0) };
      }
      case "remove_network": {
        const { host, network } = raw as Commands["remove_network"]["args"];
        const found = this.networks(host).find((n) => n.name === network);
        if (!found) throw `no network '${network}' on ${host} (see \`docktray networks\`)`;
        if (found.builtin) throw `'${network}' is one of Docker's own networks on ${host}: it cannot be removed`;
        if (found.containers.length) throw `network '${network}' on ${host} is used by container ${found.containers.map((c) => c.container).join(", ")}: stop those containers or disconnect them (\`docker network disconnect\`) first`;
        return this.remove(host, "network", network, 0, network);
      }
      case "stack_plan": {
        const { host, project, action } = raw as Commands["stack_plan"]["args"];
        return this.stackPlan(host, project, action);
      }
      case "stack_action": {
        const { host, project, action } = raw as Commands["stack_action"]["args"];
        const report = this.stackPlan(host, project, action);
        for (const step of report.steps) {
          for (const name of step.containers) {
            const spec = this.specs().find((s) => s.host === host && s.name === name);
            const wanted = step.action === "start" ? "running" : "exited";
            if (spec && spec.state !== wanted) this.act(spec, step.action as Action);
          }
        }
        return report;
      }
      default:
        return NOT_MINE;
    }
  }

  /** A pretend shell: prompt, echo of what is typed, `echo`, `$((a*b))`, `stty size`, `exit [n]`. */
  async exec(request: ExecRequest, handlers: ExecHandlers, spec: ContainerSpec | undefined): Promise<ExecSession> {
    if (!spec) throw `no container named or with id '${request.container}' (run \`docktray status\` to list containers)`;
    if (spec.state !== "running") throw `container '${spec.name}' is ${spec.state}, not running: start it first (\`docktray start ${spec.name}\`)`;
    const hasBash = !/alpine|busybox/.test(spec.image);
    const shell = request.shell ?? (hasBash ? "bash" : "sh");
    if (shell === "bash" && !hasBash) throw `container '${spec.name}' has no shell (tried bash): pick another`;
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    let size = { cols: request.cols, rows: request.rows };
    let line = "";
    let open = true;
    const say = (text: string) => open && handlers.output(encoder.encode(text));
    const prompt = () => say(`\u001b[1;32m${spec.name}\u001b[0m:/# `);
    const run = (command: string) => {
      const text = command.trim();
      const exit = /^exit(?:\s+(\d+))?$/.exec(text);
      if (exit) {
        open = false;
        const code = Number(exit[1] ?? 0);
        handlers.end({ exit_code: code, message: `The shell exited with status ${code}.` });
        return;
      }
      if (text === "stty size") say(`${size.rows} ${size.cols}\r\n`);
      else if (text.startsWith("echo ")) {
        say(`${text.slice(5).replace(/\$\(\((\d+)\s*([*+-])\s*(\d+)\)\)/g, (_, a, op, b) => String(op === "*" ? a * b : op === "+" ? +a + +b : a - b))}\r\n`);
      } else if (text) say(`${shell}: ${text.split(" ")[0]}: not found\r\n`);
      prompt();
    };
    setTimeout(prompt, 0);
    return {
      shell,
      write: async (data) => {
        for (const ch of decoder.decode(data, { stream: true })) {
          if (!open) return;
          if (ch === "\r") {
            say("\r\n");
            const command = line;
            line = "";
            run(command);
          } else if (ch === "\u007f") {
            if (line) {
              line = [...line].slice(0, -1).join("");
              say("\b \b");
            }
          } else if (ch >= " ") {
            line += ch;
            say(ch);
          }
        }
      },
      resize: async (cols, rows) => {
        size = { cols, rows };
      },
      close: async () => {
        open = false;
      },
    };
  }
}
