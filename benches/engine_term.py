#!/usr/bin/env python3
"""What docktray costs in total (its own CPU and the Docker engine's extra), against `docker stats`, measured in
interleaved rounds.

The collector benchmark (benches/collector) takes the engine's share as one window with docktray minus the mean of
two idle windows. The engine's own idle CPU (dockerd, containerd, one shim per container) moves by about a point
of one core between windows at a few hundred containers, so that difference came out anywhere from -0.8 % to
+2.6 % for the same build. This measures three windows per round (idle, `docktray watch`, `docker stats`), in an
order rotated every round, ROUNDS times on the same containers, and reports every round and the medians: the
engine's extra as the difference to the same round's idle window, and the ratio of the totals.

    eval "$(scripts/test-env.sh env)"
    N=200 ROUNDS=6 WINDOW=30 flock /tmp/docktray-tests.lock python3 benches/engine_term.py target/release/docktray

It starts N idle busybox containers (labelled docktray.test=1 and docktray.bench=1, named dtterm-<pid>-<i>),
and removes them at the end. The docktray window runs `docktray watch --no-notify --no-history` at a 2-s interval,
started 15 s before the window (after its first disk-usage measurement); the `docker stats` window runs
`docker stats --format '{{json .}}'` to /dev/null, started 4 s before. Each is stopped after its window.
"""
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ENGINE = ("dockerd", "containerd")


def engine_cpu():
    """CPU seconds so far of every dockerd, containerd and containerd-shim* process, by pid."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        if comm in ENGINE or comm.startswith("containerd-shim"):
            fields = text[text.rindex(")") + 2:].split()
            out[int(name)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def process_cpu(pid):
    """CPU seconds so far of one process (all its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def engine_percent_over(seconds, pid=None):
    """(engine %, the process's own %) of one core over a window of `seconds`."""
    before, own_before = engine_cpu(), process_cpu(pid) if pid else 0.0
    time.sleep(seconds)
    after, own_after = engine_cpu(), process_cpu(pid) if pid else 0.0
    used = sum(max(0.0, cpu - before.get(pid_, 0.0)) for pid_, cpu in after.items())
    return used / seconds * 100.0, (own_after - own_before) / seconds * 100.0


def docker(*args):
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: engine_term.py <path to the docktray binary>")
    binary = sys.argv[1]
    n = int(os.environ.get("N", "200"))
    rounds = int(os.environ.get("ROUNDS", "6"))
    window = float(os.environ.get("WINDOW", "30"))
    image = os.environ.get("DOCKTRAY_TEST_IMAGE", "docktray-test-busybox:latest")
    prefix = f"dtterm-{os.getpid()}"
    ids = []
    config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    config.write('interval = "2s"\n')
    config.close()
    try:
        print(f"starting {n} idle containers", file=sys.stderr)
        for i in range(n):
            ids.append(docker("run", "-d", "--name", f"{prefix}-{i}", "--label", "docktray.test=1", "--label",
                              "docktray.bench=1", image, "sh", "-c", "sleep 1000000"))
        time.sleep(20)  # let the engine settle after the starts
        rows = []
        kinds = ("idle", "docktray", "docker stats")
        for r in range(rounds):
            # Rotate the order every round so a trend over time falls on every kind alike.
            order = kinds[r % 3:] + kinds[:r % 3]
            figures = {}
            for kind in order:
                if kind == "idle":
                    figures[kind] = (0.0, engine_percent_over(window)[0])
                    continue
                if kind == "docktray":
                    command, settle = [binary, "watch", "--config", config.name, "--no-notify", "--no-history"], 15
                else:
                    command, settle = ["docker", "stats", "--format", "{{json .}}"], 4
                child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
                time.sleep(settle)
                engine, own = engine_percent_over(window, child.pid)
                figures[kind] = (own, engine)
                child.send_signal(signal.SIGINT)
                child.wait(timeout=30)
                time.sleep(5)
            rows.append(figures)
            idle = figures["idle"][1]
            print(f"round {r + 1}: " + ", ".join(
                f"{k} own {figures[k][0]:.2f} engine {figures[k][1]:.2f}" for k in kinds) , file=sys.stderr)

        def total(figures, kind):
            own, engine = figures[kind]
            return own + engine - figures["idle"][1]

        print(f"\n## Total CPU against docker stats, N = {n}, {rounds} rounds of {window:.0f}-s windows "
              f"(% of one core)\n")
        print("| round | order | engine idle | docktray: own + engine extra = total | docker stats: own + engine extra "
              "= total | ratio |")
        print("|---|---|---|---|---|---|")
        for k, figures in enumerate(rows, 1):
            idle = figures["idle"][1]
            cells = []
            for kind in ("docktray", "docker stats"):
                own, engine = figures[kind]
                cells.append(f"{own:.2f} + {engine - idle:+.2f} = {total(figures, kind):.2f}")
            ratio = total(figures, "docker stats") / total(figures, "docktray") if total(figures, "docktray") > 0 \
                else float("inf")
            order = " / ".join(kinds[(k - 1) % 3:] + kinds[:(k - 1) % 3])
            print(f"| {k} | {order} | {idle:.2f} | {cells[0]} | {cells[1]} | {ratio:.0f}x |")
        med = statistics.median
        dt_own = med(f["docktray"][0] for f in rows)
        dt_extra = med(f["docktray"][1] - f["idle"][1] for f in rows)
        ds_own = med(f["docker stats"][0] for f in rows)
        ds_extra = med(f["docker stats"][1] - f["idle"][1] for f in rows)
        dt_total = med(total(f, "docktray") for f in rows)
        ds_total = med(total(f, "docker stats") for f in rows)
        print(f"| median | | {med(f['idle'][1] for f in rows):.2f} | {dt_own:.2f} + {dt_extra:+.2f} = "
              f"**{dt_total:.2f}** | {ds_own:.2f} + {ds_extra:+.2f} = {ds_total:.2f} | "
              f"**{ds_total / dt_total:.0f}x** |")
        extras = [f["docktray"][1] - f["idle"][1] for f in rows]
        print(f"\ndocktray's engine extra: mean {statistics.mean(extras):+.2f}, standard deviation "
              f"{statistics.stdev(extras) if len(extras) > 1 else 0.0:.2f} (points of one core)")
    finally:
        os.unlink(config.name)
        if ids:
            subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)


if __name__ == "__main__":
    main()
