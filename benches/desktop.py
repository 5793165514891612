"""The desktop app benchmark's driver: run by benches/desktop.sh inside its private D-Bus session, never alone.

Measures the real release build of docktray-desktop (and, for reference, the headless `docktray watch`)
watching N idle containers at a 2 s interval. Every figure covers the app's whole process tree: the app and
all its descendants (WebKitWebProcess, WebKitNetworkProcess, ...), found through /proc.

  1. launch -> tray icon: process start (just before exec) -> RegisterStatusNotifierItem recorded by
     tests/e2e/sni_watcher.py (the mtime of its record file), RUNS launches, the app started directly.
  2. memory (PSS, from /proc/<pid>/smaps_rollup, plus RSS) of the last of those launches 60 s after start,
     the window never opened; then its CPU over 60 s.
  3a. window open as a user sees it, RUNS launches of the app alone (no WebDriver): the tray menu's "Open
     Docktray" clicked over D-Bus -> the window mapped, its first content and the settled overview, read from the
     X server's pixels (benches/window_paint.py); then the window is closed and opened again 5 s later.
  3b. window open, RUNS launches through WebDriver (tauri-driver launches the app, the session attaches to
     its first webview): the tray menu's "Open Docktray" clicked over D-Bus -> navigation start, DOM ready,
     first paint (the page's own Performance timeline, epoch-based, so comparable with the click's clock)
     and the overview showing the engine's first snapshot (the page's own clock): where the time goes.
  4. memory with the window open on an idle container's Logs tab (reached with the window's own route
     mechanism, the #/container/<host>/<id>/logs hash) after 30 s.
  5. CPU of the whole tree over 60 s while a container writes 1,000 lines/s into the open Logs view; then
     whether the view kept up: its last line vs the container's, right away and after pausing the container,
     and its line count vs the lines the container wrote over the same span (lines skipped).
  6. memory 60 s after the window is closed again.
  7. the headless `docktray watch` (same config): memory after 60 s, CPU over 60 s (run between 2 and 3).
Before each phase the idle containers are checked and any that went missing are started again (the engine may
be shared with other runs); the number of containers on the engine is recorded with every measurement.

Results: JSON in $BENCH_WORK/results.json and a summary on stdout.
"""

import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.environ["BENCH_ROOT"]
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import tray  # noqa: E402  (tests/e2e/tray.py: the tray over D-Bus)
from dbus_next import Variant  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.options import ArgOptions  # noqa: E402
from selenium.webdriver.remote.client_config import ClientConfig  # noqa: E402
from ui import wait_for  # noqa: E402  (tests/e2e/ui.py)

sys.path.insert(0, os.path.join(ROOT, "benches"))
import window_paint  # noqa: E402  (benches/window_paint.py: the window's pixels from the X server)

APP = os.environ["BENCH_APP"]
CLI = os.environ["BENCH_CLI"]
WORK = os.environ["BENCH_WORK"]
PORT = os.environ["BENCH_PORT"]
PREFIX = os.environ["BENCH_PREFIX"]
IMAGE = os.environ["DOCKTRAY_TEST_IMAGE"]
SNI_LOG = os.environ["E2E_SNI_LOG"]
N_IDLE = int(os.environ.get("BENCH_CONTAINERS", "50"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
IDLE_SETTLE = float(os.environ.get("BENCH_IDLE_SETTLE", "60"))
OPEN_SETTLE = float(os.environ.get("BENCH_OPEN_SETTLE", "30"))
CPU_WINDOW = float(os.environ.get("BENCH_CPU_WINDOW", "60"))
LOG_WINDOW = float(os.environ.get("BENCH_LOG_WINDOW", "60"))
# BENCH_ONLY_WINDOW=1: only the window-open phases; =plain: only the one without automation (for comparing
# variants quickly).
ONLY_WINDOW = os.environ.get("BENCH_ONLY_WINDOW") in ("1", "plain")
ONLY_PLAIN = os.environ.get("BENCH_ONLY_WINDOW") == "plain"
# BENCH_ONLY_LOGS=1: only the log view's phases (4-6 below) after one launch through WebDriver.
ONLY_LOGS = os.environ.get("BENCH_ONLY_LOGS") == "1"
# How long the app has been in the tray before "Open Docktray" is clicked: a user opens a running app.
OPEN_AFTER = float(os.environ.get("BENCH_OPEN_AFTER", "5"))
# How long the window's pixels are read after the click (the last reading is the settled window).
SETTLE_PIXELS = float(os.environ.get("BENCH_SETTLE_PIXELS", "3"))
# How long after closing the window it is opened again (the second measure of each launch).
REOPEN_AFTER = float(os.environ.get("BENCH_REOPEN_AFTER", "5"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
DOCKER = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else shutil.which("docker")
# 1,000 lines/s: batches of 100 lines, the i-th due 0.1*i s after the start, paced by the kernel's clock
# (/proc/uptime, in 1/100 s) so the time the echos take does not slow the rate down.
SPAMMER_CMD = ('read u _ </proc/uptime; t0=${u%.*}${u#*.}; i=0; while :; do j=0; '
               'while [ $j -lt 100 ]; do echo "line $i $j"; j=$((j+1)); done; i=$((i+1)); '
               'read u _ </proc/uptime; d=$(( (t0 + i*10 - ${u%.*}${u#*.}) * 10000 )); '
               '[ $d -gt 0 ] && usleep $d; done')

results = {"containers": N_IDLE, "runs": RUNS}


def log(message):
    print(f"desktop.py {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def save():
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump(results, f, indent=2)


# ------------------------------------------------------------------------------------------------- docker
def docker(*args, check=True, timeout=120):
    r = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "DOCKER_CONTEXT": ""})
    if check and r.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}...: {r.stderr.strip()}")
    return r.stdout


def run_container(name, *cmd):
    return docker("run", "-d", "--label", "docktray.test=1", "--label", "docktray.bench=1", "--name", name,
                  IMAGE, *cmd).strip()


def ensure_idle():
    """All N idle containers of this run running: the engine may be shared, and another run's clean-up by
    label can remove them. Missing ones are started again (and counted in the results)."""
    running = set(docker("ps", "--filter", f"name=^{PREFIX}-idle-", "--format", "{{.Names}}").split())
    missing = [f"{PREFIX}-idle-{i}" for i in range(N_IDLE) if f"{PREFIX}-idle-{i}" not in running]
    if missing:
        log(f"{len(missing)} of this run's idle containers were gone (removed by someone else?): starting them again")
        docker("rm", "-f", *missing, check=False)
        for name in missing:
            run_container(name, "sleep", "1000000")
        results.setdefault("idle_containers_restarted", []).append({"at": time.time(), "count": len(missing)})
        time.sleep(4)  # two sampling intervals, so the app sees them again


def engine_containers():
    return len(docker("ps", "-q").split())


# ------------------------------------------------------------------------------------------------- /proc
def stat_fields(pid):
    """Fields 3.. of /proc/<pid>/stat (after the command name), or None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def tree(root):
    """root and all its descendants (pids); root may be a list of roots (e.g. a browser and a server)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(entry)
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], (list(root) if isinstance(root, (list, tuple)) else [root])
    while todo:
        pid = todo.pop()
        if pid in out or stat_fields(pid) is None:
            continue
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def smaps_rollup(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[-1] == "kB":
                    values[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return None
    return values


def smaps_breakdown(pid, top=8):
    """The process's PSS by mapping: [heap], anonymous, or the file (shared library) it maps; largest first."""
    by = {}
    name = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                if "-" in parts[0] and not parts[0].endswith(":"):
                    path = parts[5] if len(parts) >= 6 else ""
                    name = os.path.basename(path) if path.startswith("/") else (path or "[anon]")
                elif parts[0] == "Pss:":
                    by[name] = by.get(name, 0) + int(parts[1])
    except OSError:
        return {}
    return dict(sorted(by.items(), key=lambda kv: -kv[1])[:top])


def memory(root):
    """PSS / RSS / USS (kB) of every process of the tree, and the totals."""
    procs = []
    for pid in tree(root):
        v = smaps_rollup(pid)
        if v is None:
            continue
        procs.append({"pid": pid, "name": comm(pid), "pss_kb": v.get("Pss", 0), "rss_kb": v.get("Rss", 0),
                      "uss_kb": v.get("Private_Clean", 0) + v.get("Private_Dirty", 0),
                      # Written memory (heap, stacks, relocated data): what cannot be dropped and read back
                      # from a file; the rest of PSS is file pages (code) the kernel can reclaim.
                      "pss_dirty_kb": v.get("Pss_Dirty", 0),
                      "swap_kb": v.get("Swap", 0)})
    for p in procs:
        if p["pss_kb"] > 10 * 1024:
            p["pss_by_mapping_kb"] = smaps_breakdown(p["pid"])
    total = {k: sum(p[k] for p in procs) for k in ("pss_kb", "rss_kb", "uss_kb", "pss_dirty_kb", "swap_kb")}
    return {"total": total, "processes": sorted(procs, key=lambda p: -p["pss_kb"]), "load": loadavg(),
            "at": time.time(), "containers_on_engine": engine_containers()}


def cpu_ticks(root):
    """{pid: (name, utime+stime ticks)} of the tree, plus the root's reaped children (cutime+cstime)."""
    out = {}
    for pid in tree(root):
        f = stat_fields(pid)
        if f:
            own = int(f[11]) + int(f[12])
            if pid == root or (isinstance(root, (list, tuple)) and pid in root):
                out[f"reaped-{pid}"] = ("reaped children", int(f[13]) + int(f[14]))
            out[pid] = (comm(pid), own)
    return out


def cpu_over(root, seconds, during=None):
    """CPU of the tree over `seconds` of wall time, as % of one core, total and per process name."""
    before, t0 = cpu_ticks(root), time.monotonic()
    if during:
        during()
    remaining = seconds - (time.monotonic() - t0)
    if remaining > 0:
        time.sleep(remaining)
    after, t1 = cpu_ticks(root), time.monotonic()
    wall = t1 - t0
    by_name = {}
    for key, (name, ticks) in after.items():
        prev = before.get(key, (name, 0))[1]
        by_name[name] = by_name.get(name, 0) + max(0, ticks - prev)
    total = sum(by_name.values())
    pct = lambda ticks: round(100.0 * ticks / CLK_TCK / wall, 2)  # noqa: E731
    return {"wall_s": round(wall, 2), "percent_of_one_core": pct(total),
            "by_process": {n: pct(t) for n, t in sorted(by_name.items(), key=lambda kv: -kv[1]) if t},
            "load": loadavg(), "containers_on_engine": engine_containers()}


def wait_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        f = stat_fields(pid)
        if f is None or f[0] == "Z":
            return True
        time.sleep(0.05)
    return False


# ------------------------------------------------------------------------------------------------- tray
def sni_count():
    return len(tray.registered_items())


def wait_new_item(count_before, proc=None, timeout=60):
    """Waits until the watcher recorded a registration beyond count_before; (item, epoch of the record)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = tray.registered_items()
        if len(items) > count_before:
            return items[-1], os.stat(SNI_LOG).st_mtime_ns / 1e9
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app exited ({proc.returncode}) before its tray icon registered")
        time.sleep(0.005)
    raise RuntimeError(f"no new StatusNotifierItem within {timeout} s")


def menu_entry(item, prefix, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            entries = [e for e in tray.menu(item) if e["label"].lower().startswith(prefix)]
        except tray.TrayError:  # the menu is being replaced (alert entries changed)
            if time.monotonic() > deadline:
                raise
            entries = []
        if entries:
            return entries[0]["id"]
        if time.monotonic() > deadline:
            raise RuntimeError(f"no '{prefix}' entry in the tray menu")
        time.sleep(0.2)


def click_timed(item, prefix):
    """Clicks the tray menu entry whose label starts with prefix; returns the epoch time just before the
    Event call that succeeded was sent. The menu is rebuilt (new ids) whenever the alert entries change, and
    the engine may be shared with other tests whose containers raise alerts: a stale id is looked up again."""
    stamp = {}
    for attempt in range(20):
        try:
            path = tray.menu_path(item)
            entry_id = menu_entry(item, prefix)

            async def go(bus):
                stamp["t"] = time.time()
                await tray._call(bus, item["service"], path, tray.MENU_IFACE, "Event", "isvu",
                                 [entry_id, "clicked", Variant("i", 0), int(time.time()) & 0xFFFFFFFF])

            tray._run(go)
            return stamp["t"]
        except (tray.TrayError, RuntimeError) as error:
            if attempt == 19:
                raise
            log(f"tray menu changed under the click ({str(error)[:120]}); again")
            time.sleep(0.2)


def quit_app(item, pid, proc=None):
    """Quit from the tray menu (the app flushes its history and exits 0); SIGTERM, then SIGKILL, as fallbacks."""
    try:
        click_timed(item, "quit")
    except Exception as error:  # noqa: BLE001
        log(f"tray Quit failed ({error}); SIGTERM")
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            for p in tree(pid):
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
        if proc is not None:
            try:
                proc.wait(10)
                return
            except subprocess.TimeoutExpired:
                continue
        if wait_gone(pid, 10):
            return
    raise RuntimeError(f"the app {pid} did not exit")


def extra_env(text):
    """{NAME: value} of "NAME=value NAME=value" (BENCH_APP_ENV, a variant of BENCH_VARIANTS)."""
    out = {}
    for pair in text.split():
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"desktop.py: {pair!r} is not NAME=value (in {text!r})")
        out[name] = value
    return out


def app_env():
    """The app's environment: this run's, without the benchmark's own variables, plus BENCH_APP_ENV
    ("NAME=value NAME=value", for trying a setting of GTK or WebKit)."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("BENCH_") and k != "BENCH_WORK":
            del env[k]
    env.update(extra_env(os.environ.get("BENCH_APP_ENV", "")))
    return env


def launcher(app, extra):
    """What WebDriver starts: the app itself, or, when variables are to be set (BENCH_APP_ENV and a variant's),
    a script that sets them and execs the app. tauri-driver starts the application with its own environment,
    so without this a setting never reached an app launched through WebDriver."""
    wanted = {**extra_env(os.environ.get("BENCH_APP_ENV", "")), **extra}
    if not wanted:
        return app
    import shlex
    path = os.path.join(WORK, f"launch-{abs(hash((app, tuple(sorted(wanted.items()))))):x}.sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n# Written by benches/desktop.py: the app with this variant's settings.\n")
        f.write("exec env " + " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(wanted.items()))
                + f" {shlex.quote(app)} \"$@\"\n")
    os.chmod(path, 0o755)
    return path


# ------------------------------------------------------------------------------------------------- phases
def phase_tray_and_idle():
    log(f"launch -> tray icon, {RUNS} launches (load {loadavg()})")
    times, proc, item = [], None, None
    for run in range(RUNS):
        before = sni_count()
        with open(os.path.join(WORK, f"app-launch-{run}.log"), "w") as out:
            t0 = time.time()
            proc = subprocess.Popen([APP], stdout=out, stderr=subprocess.STDOUT, env=app_env())
        item, t_reg = wait_new_item(before, proc)
        times.append(t_reg - t0)
        log(f"  run {run + 1}: {1000 * (t_reg - t0):.0f} ms")
        if run < RUNS - 1:
            time.sleep(3)  # let it come up fully, then quit, as a user would
            quit_app(item, proc.pid, proc)
            time.sleep(2)
    results["launch_to_tray_ms"] = {"runs": [round(1000 * t, 1) for t in times],
                                    "median": round(1000 * statistics.median(times), 1)}
    save()

    # The last launch stays up: idle in the tray, the window never opened.
    started = time.time() - times[-1]
    time.sleep(max(0.0, started + IDLE_SETTLE - time.time()))
    mem = memory(proc.pid)
    mem["containers_on_engine"] = engine_containers()
    results["idle_never_opened"] = mem
    log(f"idle (window never opened) after {IDLE_SETTLE:.0f} s: PSS {mem['total']['pss_kb'] / 1024:.1f} MB, "
        f"RSS {mem['total']['rss_kb'] / 1024:.1f} MB, {len(mem['processes'])} process(es)")
    results["idle_cpu"] = cpu_over(proc.pid, CPU_WINDOW)
    results["idle_never_opened_after_cpu_window"] = memory(proc.pid)["total"]
    log(f"idle CPU over {CPU_WINDOW:.0f} s: {results['idle_cpu']['percent_of_one_core']} % of one core")
    save()
    quit_app(item, proc.pid, proc)


def phase_headless():
    log("headless baseline: docktray watch")
    with open(os.path.join(WORK, "watch.log"), "w") as out:
        proc = subprocess.Popen([CLI, "watch"], stdout=out, stderr=subprocess.STDOUT, env=app_env())
    time.sleep(IDLE_SETTLE)
    if proc.poll() is not None:
        raise RuntimeError(f"docktray watch exited ({proc.returncode}): see {WORK}/watch.log")
    mem = memory(proc.pid)
    cpu = cpu_over(proc.pid, CPU_WINDOW)
    results["headless_watch"] = {"memory": mem, "cpu": cpu}
    log(f"  PSS {mem['total']['pss_kb'] / 1024:.1f} MB, RSS {mem['total']['rss_kb'] / 1024:.1f} MB, "
        f"CPU {cpu['percent_of_one_core']} % of one core")
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    save()


def app_pid_of_session(app=None):
    """The app process WebKitWebDriver launched for this run (its exe is `app`, by default APP, its
    environment our work dir)."""
    app = os.path.realpath(app or APP)
    marker = f"BENCH_WORK={WORK}\0".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
            if exe not in (app, app + " (deleted)"):
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker not in f.read():
                    continue
            if stat_fields(entry)[0] == "Z":
                continue
        except OSError:
            continue
        return int(entry)
    return None


PAGE_TIMING = """
const t = performance.timing;
const nav = performance.getEntriesByType('navigation')[0];
return {
  origin: performance.timeOrigin,
  now: performance.now(),
  navigationStart: t.navigationStart,
  responseEnd: t.responseEnd,
  domInteractive: t.domInteractive,
  domContentLoadedEventEnd: t.domContentLoadedEventEnd,
  loadEventEnd: t.loadEventEnd,
  paint: performance.getEntriesByType('paint').map(e => [e.name, e.startTime]),
  supported: (window.PerformanceObserver && PerformanceObserver.supportedEntryTypes) || [],
};
"""

OBSERVE_SNAPSHOT = """
if (location.protocol === 'about:' || !document.documentElement) return null;
if (!window.__bench) {
  const b = (window.__bench = {});
  const check = () => {
    if (b.dom || !document.querySelector('section[aria-label="Overall status"]')) return !!b.dom;
    b.dom = performance.now();
    requestAnimationFrame(() => requestAnimationFrame(() => { b.frame = performance.now(); }));
    return true;
  };
  if (check()) b.already = true;
  else {
    const o = new MutationObserver(() => { if (check()) o.disconnect(); });
    o.observe(document, {subtree: true, childList: true});
  }
}
return window.__bench;
"""


def open_session(app=None, env=None):
    """Starts a WebDriver session (tauri-driver launches `app`, by default APP, with BENCH_APP_ENV and `env`);
    meanwhile, OPEN_AFTER s after the tray icon registered, clicks "Open Docktray". Returns (driver, app pid,
    tray item, timings)."""
    app = app or APP
    before = sni_count()
    info = {}

    def opener():
        try:
            item, t_reg = wait_new_item(before, timeout=90)
            info["item"] = item
            menu_entry(item, "open")
            time.sleep(max(0.0, t_reg + OPEN_AFTER - time.time()))
            info["t_click"] = click_timed(item, "open")
        except Exception as error:  # noqa: BLE001
            info["error"] = error

    thread = threading.Thread(target=opener, daemon=True)
    thread.start()
    options = ArgOptions()
    options.set_capability("browserName", "wry")
    options.set_capability("tauri:options", {"application": launcher(app, env or {})})
    url = f"http://127.0.0.1:{PORT}"
    try:
        driver = webdriver.Remote(command_executor=url, options=options,
                                  client_config=ClientConfig(remote_server_addr=url, timeout=120))
    except Exception as error:
        thread.join(5)
        raise RuntimeError(f"no WebDriver session (tray: {info})") from error
    t_session = time.time()
    thread.join(10)
    if "error" in info:
        raise RuntimeError(f"opening from the tray failed: {info['error']}")
    driver.implicitly_wait(0)
    driver.set_script_timeout(20)
    # The session attaches to the webview before it navigates: wait for the app's document (not the initial
    # about:blank), then watch it for the overview's first snapshot with a MutationObserver, so the moment is
    # the page's own (performance.now()), not WebDriver's polling. Two animation frames later that DOM has
    # been painted.
    observed = wait_for("the app's document", lambda: driver.execute_script(OBSERVE_SNAPSHOT), 30, 0.02)
    bench = wait_for("the overview's first snapshot", lambda: (lambda b: b if b and b.get("frame") else None)(
        driver.execute_script("return window.__bench;")), 30, 0.05)
    page = driver.execute_script(PAGE_TIMING)
    pid = app_pid_of_session(app)
    return driver, pid, info["item"], {"t_click": info["t_click"], "t_session": t_session, "page": page,
                                       "bench": bench, "already_shown": bool(observed.get("already"))}


def open_timings(t):
    click, page = t["t_click"], t["page"]
    ms = lambda epoch: None if not epoch else round(epoch - 1000 * click, 1)  # noqa: E731
    paint = dict((name, start) for name, start in page["paint"])
    row = {
        "click_to_navigation_start_ms": ms(page["origin"]),
        "click_to_dom_content_loaded_ms": ms(page["domContentLoadedEventEnd"]),
        "click_to_load_ms": ms(page["loadEventEnd"]),
        "click_to_first_contentful_paint_ms": (ms(page["origin"] + paint["first-contentful-paint"])
                                               if "first-contentful-paint" in paint else None),
        "click_to_snapshot_in_dom_ms": ms(page["origin"] + t["bench"]["dom"]),
        "click_to_snapshot_painted_ms": ms(page["origin"] + t["bench"]["frame"]),
        "click_to_webdriver_session_ms": round(1000 * (t["t_session"] - click), 1),
        # True: the snapshot was on screen before the observer was installed (the DOM time is then late).
        "snapshot_shown_before_observer": t["already_shown"],
    }
    row["performance_entry_types"] = page["supported"]
    return row


def end_session(driver, pid, item):
    try:
        driver.quit()
    except Exception as error:  # noqa: BLE001
        log(f"driver.quit: {error}")
    if pid and not wait_gone(pid, 5):
        quit_app(item, pid)


def log_view_state(driver):
    """The log view's rendered lines (numbers parsed from "line I J" = I*100+J), its footer and line count."""
    return driver.execute_script("""
        const lines = [...document.querySelectorAll('.logs .line')].map(n => [n.dataset.seq, n.innerText]);
        const foot = document.querySelector('.logs .foot');
        const spacer = document.querySelector('.logs .viewport .spacer');
        return {lines, foot: foot ? foot.innerText : null, height: spacer ? spacer.style.height : null};
    """)


LINE = re.compile(r"line (\d+) (\d+)")


def line_number(text):
    m = LINE.search(text or "")
    return int(m.group(1)) * 100 + int(m.group(2)) if m else None


def view_numbers(state):
    nums = [n for n in (line_number(t) for _, t in state["lines"]) if n is not None]
    total = None
    m = re.search(r"([\d,]+) lines", state["foot"] or "")
    if m:
        total = int(m.group(1).replace(",", ""))
    return nums, total


def epoch_of(rfc3339):
    """Epoch seconds of Docker's RFC 3339 nanosecond timestamp (UTC, "Z")."""
    import calendar
    main, _, frac = rfc3339.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def container_last_line(name):
    return line_number(docker("logs", "--tail", "1", name).strip())


def goto(driver, host, cid, tab):
    driver.execute_script(f"window.location.hash = '#/container/{host}/{cid}/{tab}';")
    wait_for(f"the {tab} tab of {cid[:12]}", lambda: driver.execute_script(
        "const t = [...document.querySelectorAll('[role=tab]')].find(e => e.innerText.trim().toLowerCase() === arguments[0]);"
        "return !!t && t.getAttribute('aria-selected') === 'true';", tab), 20)


def local_host(driver):
    """The host part of container routes (the local engine's source name), from the containers list's links."""
    driver.execute_script("window.location.hash = '#/containers';")
    try:
        href = wait_for("a container link", lambda: driver.execute_script(
            "const a = document.querySelector('a[href^=\"#/container/\"]'); return a && a.getAttribute('href');"), 30)
    except Exception:
        with open(os.path.join(WORK, "page.html"), "w") as f:
            f.write(driver.execute_script("return location.href + '\\n' + document.documentElement.outerHTML;"))
        driver.save_screenshot(os.path.join(WORK, "page.png"))
        raise
    return href.split("/")[2]


def brief(times):
    """ "mapped 9.5, complete 455.2, ..." for a log line: the "..click_to.." times without their prefix and unit."""
    return ", ".join(f"{k.replace('click_to_', '').replace('_ms', '')} {v}"
                     for k, v in times.items() if "click_to" in k)


def medians(rows):
    """The median of each "..click_to.." time over the runs that have it (None where no run has it)."""
    out = {}
    for key in (k for k in rows[0] if "click_to" in k):
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = statistics.median(values) if values else None
    return out


def open_watched(item):
    """Clicks "Open Docktray" while the window's pixels are watched; the times after the click (ms)."""
    watcher = window_paint.PaintWatcher()
    watcher.start()
    t_click = click_timed(item, "open")
    time.sleep(SETTLE_PIXELS)
    watcher.stop()
    return {k: v for k, v in watcher.timings(t_click).items() if k.endswith("_ms")}


def phase_window_plain():
    """The window opening as a user sees it: the app started directly (no WebDriver, no automation), "Open
    Docktray" clicked over D-Bus OPEN_AFTER s after the tray icon registered, the window's pixels read from the X
    server (benches/window_paint.py): mapped, first content, and complete (the overview with its data, as it
    looks once settled); then closed and opened again REOPEN_AFTER s later.

    Each run launches the app twice, one after the other: as it ships, and with the EGL warm-up off
    (DOCKTRAY_EGL_WARM_UP=0: WebKit sets EGL up for the first window). Interleaved, both see the same machine
    (its speed drifts over minutes on this VM). The idle memory is measured after the last run as it ships."""
    variants = (("window_open_plain", {}), ("window_open_plain_without_egl_warm_up", {"DOCKTRAY_EGL_WARM_UP": "0"}))
    log(f"window open as a user sees it, {RUNS} runs of {len(variants)} launches, no automation (load {loadavg()})")
    rows = {key: [] for key, _ in variants}
    for run in range(RUNS):
        for key, extra in variants:
            shipped = not extra
            before = sni_count()
            with open(os.path.join(WORK, f"app-plain-{run}{'' if shipped else '-no-warm-up'}.log"), "w") as out:
                proc = subprocess.Popen([APP], stdout=out, stderr=subprocess.STDOUT, env={**app_env(), **extra})
            item, t_reg = wait_new_item(before, proc)
            menu_entry(item, "open")
            time.sleep(max(0.0, t_reg + OPEN_AFTER - time.time()))
            row = {f"click_to_{k}": v for k, v in open_watched(item).items()}
            # Opened again a while after closing it: the app's process is warm, the web view is new.
            close_window()
            time.sleep(REOPEN_AFTER)
            row.update({f"reopen_click_to_{k}": v for k, v in open_watched(item).items()})
            rows[key].append(row)
            log(f"  run {run + 1}{'' if shipped else ', EGL warm-up off'}: {brief(row)}")
            if shipped and run == RUNS - 1:
                # The app as a user leaves it: the window opened twice and closed, no automation attached.
                log(f"  closing: {close_window()}")
                time.sleep(IDLE_SETTLE)
                mem = memory(proc.pid)
                results["idle_after_window_closed_plain"] = mem
                log(f"  idle {IDLE_SETTLE:.0f} s after closing: PSS {mem['total']['pss_kb'] / 1024:.1f} MB "
                    f"(written {mem['total']['pss_dirty_kb'] / 1024:.1f} MB), {len(mem['processes'])} process(es)")
            quit_app(item, proc.pid, proc)
            time.sleep(2)
    for key, _ in variants:
        results[key] = {"runs": rows[key], "median_ms": medians(rows[key]), "load": loadavg()}
        log(f"  medians, {key}: {brief(results[key]['median_ms'])}")
    save()


def phase_window(runs=RUNS):
    log(f"window open, {runs} launches through WebDriver (load {loadavg()})")
    rows = []
    for run in range(runs):
        driver, pid, item, t = open_session()
        row = open_timings(t)
        rows.append(row)
        log(f"  run {run + 1}: {brief(row)}")
        if run < runs - 1:
            end_session(driver, pid, item)
            time.sleep(2)
    results["window_open"] = {"runs": rows, "median_ms": medians(rows), "load": loadavg()}
    save()
    return driver, pid, item


def phase_logs(driver, pid, item):
    ensure_idle()
    host = local_host(driver)
    results["window_open_logs_idle_container"] = logs_idle(driver, host, pid)
    save()
    results["logs_1000_per_s"] = logs_follow(driver, host, pid)
    save()

    # Close the window the way the window manager would: WM_DELETE_WINDOW to its toplevel.
    ensure_idle()
    closed = close_window()
    time.sleep(IDLE_SETTLE)
    mem = memory(pid)
    mem["closed_by"] = closed
    results["idle_after_window_closed"] = mem
    log(f"{IDLE_SETTLE:.0f} s after closing the window ({closed}): PSS {mem['total']['pss_kb'] / 1024:.1f} MB "
        f"({', '.join(p['name'] for p in mem['processes'])})")
    save()
    end_session(driver, pid, item)


def logs_idle(driver, host, roots, settle=None):
    """The page (driven by `driver`) on an idle container's Logs tab: PSS of `roots` (a pid, or a list: their
    process trees) after OPEN_SETTLE s."""
    idle = docker("ps", "-q", "--no-trunc", "--filter", f"name=^{PREFIX}-idle-0$").strip()
    goto(driver, host, idle, "logs")
    time.sleep(OPEN_SETTLE if settle is None else settle)
    mem = memory(roots)
    mem["route"] = f"#/container/{host}/{idle[:12]}/logs"
    log(f"open on an idle container's Logs tab after {OPEN_SETTLE if settle is None else settle:.0f} s: PSS "
        f"{mem['total']['pss_kb'] / 1024:.1f} MB ({', '.join(p['name'] + ' ' + str(p['pss_kb'] // 1024) for p in mem['processes'])})")
    return mem


def logs_follow(driver, host, pid, window=None):
    """A container writing 1,000 lines/s, its Logs tab open in the page: CPU of `pid` (or a list of roots) over
    `window` (LOG_WINDOW) s, the newest line's lag, and after pausing the writer whether every line arrived."""
    window = LOG_WINDOW if window is None else window
    # The chatty container, then its Logs tab; 5 s to reach a steady state, then the CPU window.
    name = f"{PREFIX}-logs"
    docker("rm", "-f", name, check=False)
    cid = run_container(name, "sh", "-c", SPAMMER_CMD)
    driver.execute_script("window.location.hash = '#/containers';")
    wait_for("the log container in the window's snapshot", lambda: driver.execute_script(
        "return !!document.querySelector('a[href*=\"' + arguments[0] + '\"]');", cid[:12]), 30)
    goto(driver, host, cid, "logs")
    time.sleep(5)
    # CPU over the window; every 10 s the view's newest line is read (one small script: negligible work).
    samples, trend = [], []

    def total_ticks():
        return sum(t for _, t in cpu_ticks(pid).values())

    def sample_lag():
        end = time.monotonic() + window
        last = (time.monotonic(), total_ticks())
        while True:
            nums, _ = view_numbers(log_view_state(driver))
            samples.append((time.time(), max(nums) if nums else None))
            now = (time.monotonic(), total_ticks())
            if now[0] - last[0] > 1:
                trend.append(round(100.0 * (now[1] - last[1]) / CLK_TCK / (now[0] - last[0]), 1))
            last = now
            if time.monotonic() + 10 > end:
                break
            time.sleep(10)

    t0 = time.time()
    cpu = cpu_over(pid, window, during=sample_lag)
    t1 = time.time()
    # Right at the end of the window: the view's newest line vs the container's newest.
    s_end = log_view_state(driver)
    t_view = time.time()
    samples.append((t_view, max(view_numbers(s_end)[0] or [None])))
    last_container = container_last_line(name)
    view_nums, view_total = view_numbers(s_end)
    # Lag: when the view showed line N, how long ago had the container written line N (engine timestamps)?
    stamped = {}
    for text in docker("logs", "-t", "--since", f"{t0 - 15:.3f}", "--until", f"{t_view + 1:.3f}", name).splitlines():
        stamp, _, rest = text.partition(" ")
        n = line_number(rest)
        if n is not None:
            stamped[n] = stamp
    lags = []
    for when, n in samples:
        if n in stamped:
            lags.append(round(when - epoch_of(stamped[n]), 3))
    # Then stop the producer and give the view a moment to drain.
    docker("pause", name)
    t_pause = time.time()
    time.sleep(3)
    s_after = log_view_state(driver)
    after_nums, after_total = view_numbers(s_after)
    final_container = container_last_line(name)
    # The oldest line the view holds: scroll its list to the top (turns following off) and read it.
    driver.execute_script("const v = document.querySelector('.logs .viewport'); v.scrollTop = 0;"
                          "v.dispatchEvent(new Event('scroll'));")
    time.sleep(1)
    top_nums, _ = view_numbers(log_view_state(driver))
    first_in_view = min(top_nums) if top_nums else None
    # The real rate over the CPU window, from the engine's own log.
    in_window = docker("logs", "--since", f"{t0:.3f}", "--until", f"{t1:.3f}", name).count("\n")
    first_ever = line_number(docker("logs", "--tail", "all", name).split("\n", 1)[0])
    expected = (final_container - first_in_view + 1) if (final_container is not None and first_in_view is not None) else None
    keep = {
        "cpu": cpu,
        "lines_per_s_written": round(in_window / (t1 - t0), 1),
        "container_last_line_at_end": last_container,
        "view_last_line_at_end": max(view_nums) if view_nums else None,
        "view_behind_by_lines_at_end": (last_container - max(view_nums)) if view_nums and last_container is not None else None,
        "view_lag_s_samples": lags,
        "view_lag_s_max": max(lags) if lags else None,
        "cpu_percent_per_10s": trend,
        "container_last_line_paused": final_container,
        "view_last_line_3s_after_pause": max(after_nums) if after_nums else None,
        "view_line_count_footer": after_total,
        "view_first_line": first_in_view,
        "container_first_line": first_ever,
        "lines_expected_in_view": expected,
        "lines_missing_from_view": (expected - after_total) if expected is not None and after_total is not None else None,
        "footer": s_after["foot"],
        "paused_at": t_pause,
    }
    keep["memory_after"] = memory(pid)
    log(f"logs at {keep['lines_per_s_written']} lines/s: CPU {cpu['percent_of_one_core']} % of one core; view "
        f"per 10 s {trend}; behind by {keep['view_behind_by_lines_at_end']} lines at the end (lag max {keep['view_lag_s_max']} s), last {keep['view_last_line_3s_after_pause']} "
        f"vs {final_container} after pause; footer {s_after['foot']!r}; missing {keep['lines_missing_from_view']}")
    docker("rm", "-f", name, check=False)
    return keep


def close_window():
    """Sends WM_DELETE_WINDOW to the window titled "Docktray" (what a window manager's close button does)."""
    ids = subprocess.run(["xdotool", "search", "--name", "^Docktray$"], capture_output=True, text=True).stdout.split()
    if not ids:
        return "no window found"
    script = r"""
import ctypes, sys
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
x.XFlush.argtypes = [ctypes.c_void_p]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]
class Event(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]
d = x.XOpenDisplay(None)
protocols = x.XInternAtom(d, b"WM_PROTOCOLS", 0)
delete = x.XInternAtom(d, b"WM_DELETE_WINDOW", 0)
for wid in sys.argv[1:]:
    e = Event()
    e.xclient.type = 33  # ClientMessage
    e.xclient.window = int(wid)
    e.xclient.message_type = protocols
    e.xclient.format = 32
    e.xclient.data[0] = delete
    e.xclient.data[1] = 0  # CurrentTime
    x.XSendEvent(d, int(wid), 0, 0, ctypes.byref(e))
x.XFlush(d)
x.XCloseDisplay(d)
"""
    subprocess.run([sys.executable, "-c", script, *ids], check=True, timeout=10)
    for _ in range(100):
        left = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Docktray$"],
                              capture_output=True, text=True).stdout.split()
        if not left:
            return f"WM_DELETE_WINDOW to {len(ids)} X window(s); gone"
        time.sleep(0.1)
    return f"WM_DELETE_WINDOW to {len(ids)} X window(s); still mapped after 10 s"


def main():
    results["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["load_at_start"] = loadavg()
    log(f"starting {N_IDLE} idle containers")
    for i in range(N_IDLE):
        run_container(f"{PREFIX}-idle-{i}", "sleep", "1000000")
    results["containers_on_engine_at_start"] = engine_containers()
    save()
    if os.environ.get("BENCH_AB") == "1":
        # Interleaved rounds of the log view's measures: the app's variants and the browser (benches/desktop_ab.py).
        log(f"letting the engine settle for {IDLE_SETTLE:.0f} s (load {loadavg()})")
        time.sleep(IDLE_SETTLE)
        import desktop_ab
        desktop_ab.run(sys.modules[__name__])
        results["load_at_end"] = loadavg()
        results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        save()
        return
    if ONLY_LOGS:
        log(f"letting the engine settle for {IDLE_SETTLE:.0f} s (load {loadavg()})")
        time.sleep(IDLE_SETTLE)
        driver, pid, item = phase_window(runs=1)
        phase_logs(driver, pid, item)
        results["load_at_end"] = loadavg()
        results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        judge()
        save()
        print_targets()
        return
    if ONLY_WINDOW:
        # As in the full run, the window is first opened once starting the containers has settled.
        log(f"letting the engine settle for {IDLE_SETTLE:.0f} s (load {loadavg()})")
        time.sleep(IDLE_SETTLE)
        phase_window_plain()
        if ONLY_PLAIN:
            results["load_at_end"] = loadavg()
            save()
            return
        driver, pid, item = phase_window()
        end_session(driver, pid, item)
        results["load_at_end"] = loadavg()
        save()
        return
    phase_tray_and_idle()
    time.sleep(3)
    ensure_idle()
    phase_headless()
    time.sleep(3)
    ensure_idle()
    phase_window_plain()
    ensure_idle()
    driver, pid, item = phase_window()
    phase_logs(driver, pid, item)
    results["load_at_end"] = loadavg()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    judge()
    save()
    summary()


def mb(kb):
    return f"{kb / 1024:.1f} MB"


# The targets of docs/benchmarks.md ("Desktop app"), each judged from this run's figures: (name, result key,
# how to read the figure, target, the figure's unit).
TARGETS = (
    ("log view at 1,000 lines/s: CPU of all processes, % of one core", "logs_1000_per_s",
     lambda r: r["cpu"]["percent_of_one_core"], 15.0, "%"),
    ("log view at 1,000 lines/s: newest line shown within, s (largest lag sampled)", "logs_1000_per_s",
     lambda r: r["view_lag_s_max"], 0.3, "s"),
    ("log view at 1,000 lines/s: lines missing after pausing the writer", "logs_1000_per_s",
     lambda r: (r["lines_missing_from_view"] or 0)
     + (0 if r["view_last_line_3s_after_pause"] == r["container_last_line_paused"] else 1), 0, "lines"),
    ("window open on an idle container's Logs: PSS of all processes, MB", "window_open_logs_idle_container",
     lambda r: round(r["total"]["pss_kb"] / 1024, 1), 180.0, "MB"),
    ("idle 60 s after the window was closed: PSS, MB", "idle_after_window_closed",
     lambda r: round(r["total"]["pss_kb"] / 1024, 1), 50.0, "MB"),
    ("idle 60 s after the window was closed, no automation: PSS, MB", "idle_after_window_closed_plain",
     lambda r: round(r["total"]["pss_kb"] / 1024, 1), 50.0, "MB"),
    ("idle, window never opened: PSS, MB", "idle_never_opened",
     lambda r: round(r["total"]["pss_kb"] / 1024, 1), 60.0, "MB"),
)


def judge():
    """results["targets"]: each target this run measured, its figure and whether it was met (at most the
    target; for missing lines exactly 0)."""
    out = []
    for name, key, read, target, unit in TARGETS:
        if key not in results:
            continue
        try:
            value = read(results[key])
        except (KeyError, TypeError):
            value = None
        out.append({"target": name, "value": value, "limit": target, "unit": unit,
                    "met": value is not None and (value <= target if target else value == 0)})
    results["targets"] = out


def print_targets():
    for t in results.get("targets", []):
        mark = "met" if t["met"] else "NOT met"
        print(f"  {t['target']}: {t['value']} (target {'< ' if t['limit'] else ''}{t['limit']} {t['unit']}): {mark}")


def summary():
    r = results
    print(f"\nDocktray desktop benchmark, {r['containers']} idle containers, interval 2 s "
          f"(load at start {r['load_at_start']}, at end {r['load_at_end']})")
    print(f"launch -> tray icon, median of {r['runs']}: {r['launch_to_tray_ms']['median']} ms "
          f"(runs {r['launch_to_tray_ms']['runs']})")
    for key, label in (("idle_never_opened", "idle, window never opened (60 s)"),
                       ("window_open_logs_idle_container", "window open on a Logs tab (30 s)"),
                       ("idle_after_window_closed", "idle, 60 s after the window was closed")):
        m = r[key]
        procs = ", ".join(f"{p['name']} {mb(p['pss_kb'])}" for p in m["processes"])
        print(f"{label}: PSS {mb(m['total']['pss_kb'])} (dirty {mb(m['total']['pss_dirty_kb'])}), "
              f"RSS {mb(m['total']['rss_kb'])}  [{procs}]")
    print(f"idle CPU: {r['idle_cpu']['percent_of_one_core']} % of one core")
    print(f"window open as seen on screen, medians (ms): {brief(r['window_open_plain']['median_ms'])}")
    print(f"  the same with the EGL warm-up off: {brief(r['window_open_plain_without_egl_warm_up']['median_ms'])}")
    print(f"window open under WebDriver, page timings, medians (ms): {brief(r['window_open']['median_ms'])}")
    lg = r["logs_1000_per_s"]
    print(f"logs at {lg['lines_per_s_written']} lines/s: CPU {lg['cpu']['percent_of_one_core']} % of one core "
          f"{lg['cpu']['by_process']}; behind by {lg['view_behind_by_lines_at_end']} lines at the end; "
          f"missing {lg['lines_missing_from_view']}; footer {lg['footer']!r}")
    h = r["headless_watch"]
    print(f"docktray watch: PSS {mb(h['memory']['total']['pss_kb'])}, RSS {mb(h['memory']['total']['rss_kb'])}, "
          f"CPU {h['cpu']['percent_of_one_core']} % of one core")
    print("targets:")
    print_targets()


if __name__ == "__main__":
    main()
