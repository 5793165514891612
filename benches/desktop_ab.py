"""Interleaved rounds of the log view's measures (BENCH_AB=1 of benches/desktop.sh), and the user's alternative.

The log view's figures move with the machine (a 2-core VM shared with builds): two builds or settings measured
minutes apart are not comparable. Here each round measures every variant one after the other, and the order
rotates from round to round, so a slow minute falls on each variant alike; the figures are compared round by
round (ratios) and as medians.

A variant is the desktop app (launched through WebDriver, as in the log view's phases of desktop.py) with
settings of its own, or the user's alternative: the same page served by `docktray serve` in a Chromium window on
the same display (Debian's chromium, driven by chromedriver; its processes and the server's are measured, not
chromedriver's). Each variant: the page on an idle container's Logs tab, PSS after OPEN_SETTLE s; then a
container writing 1,000 lines/s followed on its Logs tab, CPU over BENCH_LOG_WINDOW s, the newest line's lag and
the lines missing after pausing the writer.

  BENCH_VARIANTS   variants of the app, ";"-separated, each "NAME NAME=value ..." (settings for the app; the
                   pseudo-setting BINARY=path measures another build). Default "shipped".
  BENCH_BROWSER    1 (default): the Chromium variant too ("chromium"); 0: only the app's variants.
  BENCH_ROUNDS     rounds (default 3).
  BENCH_AB_CLOSED  "all": every app variant, in every round, also closes its window and measures its memory
                   IDLE_SETTLE s later (default: only the first variant, in the last round).

Results: results["ab"] in $BENCH_WORK/results.json (every measure of every round, the medians per variant, and
each variant's ratio to the first one, round by round).
"""

import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time


def parse_variants(text):
    """[(name, settings, binary)] of BENCH_VARIANTS."""
    out = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, *pairs = part.split()
        settings, binary = {}, None
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise SystemExit(f"desktop_ab.py: {pair!r} in BENCH_VARIANTS is not NAME=value")
            if key == "BINARY":
                binary = os.path.abspath(value)
                if not os.access(binary, os.X_OK):
                    raise SystemExit(f"desktop_ab.py: BINARY={value} of variant {name} is not an executable file")
            else:
                settings[key] = value
        out.append((name, settings, binary))
    if len({n for n, _, _ in out}) != len(out):
        raise SystemExit("desktop_ab.py: two variants in BENCH_VARIANTS have the same name")
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    text = f.read()
            except OSError:
                continue
            if int(text[text.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(entry))
    return out


class Served:
    """`docktray serve` with the app's settings plus an API listener and a token, in dirs of its own."""

    def __init__(self, d, tag):
        self.dir = os.path.join(d.WORK, f"serve-{tag}")
        for sub in ("home", "config/docktray", "data", "cache", "state"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.port = free_port()
        self.token = os.urandom(32).hex()
        token_file = os.path.join(self.dir, "token")
        with open(token_file, "w") as f:
            f.write(self.token)
        os.chmod(token_file, 0o600)
        with open(os.path.join(self.dir, "config/docktray/config.toml"), "w") as f:
            f.write(f'interval = "2s"\n\n[history]\npath = "{self.dir}/data/history.sqlite"\n\n'
                    f'[api]\nlisten = "127.0.0.1:{self.port}"\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_") or k == "BENCH_WORK"}
        env.update(HOME=f"{self.dir}/home", XDG_CONFIG_HOME=f"{self.dir}/config", XDG_DATA_HOME=f"{self.dir}/data",
                   XDG_CACHE_HOME=f"{self.dir}/cache", XDG_STATE_HOME=f"{self.dir}/state",
                   DOCKTRAY_API_TOKEN_FILE=token_file)
        self.log = open(os.path.join(d.WORK, f"serve-{tag}.log"), "w")
        self.proc = subprocess.Popen([d.CLI, "serve", "--no-notify"], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docktray serve exited ({self.proc.returncode}): see {self.log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"docktray serve did not listen on {self.port} within 30 s")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def chromium(d):
    """Chromium in a window of the benchmark's display, as a user starts it (no --headless, GPU defaults), with
    the app window's size; --no-sandbox because the benchmark runs as root."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--password-store=basic", "--window-position=0,0", "--window-size=1100,720",
                f"--user-data-dir={tempfile.mkdtemp(dir=d.WORK)}"):
        options.add_argument(arg)
    options.add_experimental_option("excludeSwitches", ["enable-automation"])
    options.add_experimental_option("prefs", {"credentials_enable_service": False,
                                              "profile.password_manager_enabled": False})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver",
                      log_output=os.path.join(d.WORK, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(20)
    return driver, service.process.pid


def sign_in(d, driver, served):
    from selenium.webdriver.common.by import By

    driver.get(served.url)
    field = d.wait_for("the sign-in form", lambda: next(iter(driver.find_elements(By.ID, "signin-token")), None), 30)
    field.send_keys(served.token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    d.wait_for("the overview after signing in", lambda: driver.execute_script(
        "return !!document.querySelector('section[aria-label=\"Overall status\"]');"), 30)


def screenshot(d, name):
    """The whole display as the X server has it (what a user sees, not WebDriver's copy of the page)."""
    path = os.path.join(d.WORK, f"screen-{name}.png")
    subprocess.run(["import", "-window", "root", path], capture_output=True, timeout=30)
    return path


def measure_app(d, name, settings, binary, shoot=False, closed=False):
    """The app's variant; with `closed`, also its memory IDLE_SETTLE s after the window was closed."""
    driver, pid, item, _ = d.open_session(binary, settings)
    try:
        host = d.local_host(driver)
        idle = d.logs_idle(driver, host, pid)
        if shoot:
            idle["screenshot"] = screenshot(d, name)
        follow = d.logs_follow(driver, host, pid)
        if closed:
            d.ensure_idle()
            how = d.close_window()
            time.sleep(d.IDLE_SETTLE)
            after = d.memory(pid)
            after["closed_by"] = how
            follow["idle_after_window_closed"] = after
            d.log(f"  {name}: {d.IDLE_SETTLE:.0f} s after closing the window ({how}): PSS "
                  f"{after['total']['pss_kb'] / 1024:.1f} MB")
    finally:
        d.end_session(driver, pid, item)
    return idle, follow


def measure_browser(d, tag, shoot=False):
    served = Served(d, tag)
    driver = None
    try:
        time.sleep(d.OPEN_AFTER)  # as the app: running a moment before the page is opened
        driver, chromedriver = chromium(d)
        browser = [p for p in children(chromedriver) if d.comm(p).startswith("chrom")]
        if not browser:
            raise RuntimeError("chromedriver started no chromium process")
        roots = [*browser, served.proc.pid]
        sign_in(d, driver, served)
        host = d.local_host(driver)
        idle = d.logs_idle(driver, host, roots)
        if shoot:
            idle["screenshot"] = screenshot(d, "chromium")
        follow = d.logs_follow(driver, host, roots)
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception as error:  # noqa: BLE001
                d.log(f"chromium quit: {error}")
        served.stop()
    return idle, follow


def row(idle, follow):
    return {"pss_mb": round(idle["total"]["pss_kb"] / 1024, 1),
            "pss_by_process_mb": {p["name"]: round(p["pss_kb"] / 1024, 1) for p in idle["processes"]},
            "cpu_percent": follow["cpu"]["percent_of_one_core"],
            "cpu_by_process": follow["cpu"]["by_process"],
            "lag_s_max": follow["view_lag_s_max"],
            "lines_missing": follow["lines_missing_from_view"],
            "last_line_equal": follow["view_last_line_3s_after_pause"] == follow["container_last_line_paused"],
            "lines_per_s_written": follow["lines_per_s_written"],
            "load": follow["cpu"]["load"]}


def run(d):
    variants = parse_variants(os.environ.get("BENCH_VARIANTS", "shipped"))
    names = [n for n, _, _ in variants]
    if os.environ.get("BENCH_BROWSER", "1") == "1":
        names.append("chromium")
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    closed_all = os.environ.get("BENCH_AB_CLOSED") == "all"
    by_name = {n: (s, b) for n, s, b in variants}
    ab = d.results["ab"] = {"variants": {n: {"settings": s, "binary": b or d.APP} for n, s, b in variants},
                            "rounds": [], "log_window_s": d.LOG_WINDOW, "open_settle_s": d.OPEN_SETTLE}
    if "chromium" in names:
        ab["variants"]["chromium"] = {"browser": subprocess.run(["chromium", "--version"], capture_output=True,
                                                                text=True).stdout.strip(), "server": d.CLI}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        d.log(f"round {r + 1} of {rounds}: {', '.join(order)} (load {d.loadavg()})")
        measured = {}
        for name in order:
            d.ensure_idle()
            if name == "chromium":
                idle, follow = measure_browser(d, f"{r}", shoot=r == 0)
            else:
                settings, binary = by_name[name]
                idle, follow = measure_app(d, name, settings, binary, shoot=r == 0,
                                           closed=closed_all or (r == rounds - 1 and name == names[0]))
            measured[name] = row(idle, follow)
            measured[name]["raw"] = {"idle": idle, "follow": follow}
            d.log(f"  {name}: PSS {measured[name]['pss_mb']} MB, CPU {measured[name]['cpu_percent']} % "
                  f"{measured[name]['cpu_by_process']}, lag {measured[name]['lag_s_max']} s, "
                  f"missing {measured[name]['lines_missing']}")
            d.save()
            time.sleep(2)
        ab["rounds"].append({"order": order, "measured": measured})
        d.save()
    base = names[0]
    summary = {}
    for name in names:
        rows = [rd["measured"][name] for rd in ab["rounds"]]
        base_rows = [rd["measured"][base] for rd in ab["rounds"]]
        summary[name] = {
            "pss_mb_median": statistics.median(x["pss_mb"] for x in rows),
            "pss_mb_runs": [x["pss_mb"] for x in rows],
            "cpu_percent_median": statistics.median(x["cpu_percent"] for x in rows),
            "cpu_percent_runs": [x["cpu_percent"] for x in rows],
            "lag_s_max": max((x["lag_s_max"] or 0) for x in rows),
            "lines_missing_max": max((x["lines_missing"] or 0) for x in rows),
            "last_line_always_equal": all(x["last_line_equal"] for x in rows),
            f"pss_ratio_to_{base}_per_round": [round(x["pss_mb"] / y["pss_mb"], 2) for x, y in zip(rows, base_rows)],
            f"cpu_ratio_to_{base}_per_round": [round(x["cpu_percent"] / y["cpu_percent"], 2) if y["cpu_percent"] else None
                                               for x, y in zip(rows, base_rows)],
        }
    for name in names:
        closed = [round(after["total"]["pss_kb"] / 1024, 1) for rd in ab["rounds"]
                  if (after := rd["measured"][name]["raw"]["follow"].get("idle_after_window_closed"))]
        if closed:
            summary[name]["idle_after_window_closed_mb"] = statistics.median(closed)
            summary[name]["idle_after_window_closed_mb_runs"] = closed
    ab["summary"] = summary
    d.save()
    print(f"\nInterleaved rounds ({rounds}), the log view: {d.results['containers']} idle containers; "
          f"load at start {d.results['load_at_start']}, at end {d.loadavg()}")
    for name, s in summary.items():
        print(f"  {name}: PSS on an idle container's Logs {s['pss_mb_median']} MB (runs {s['pss_mb_runs']}); "
              f"CPU at 1,000 lines/s {s['cpu_percent_median']} % of one core (runs {s['cpu_percent_runs']}); "
              f"lag max {s['lag_s_max']} s; missing max {s['lines_missing_max']}; "
              f"ratio to {base}: PSS {s[f'pss_ratio_to_{base}_per_round']}, CPU {s[f'cpu_ratio_to_{base}_per_round']}"
              + (f"; idle 60 s after closing the window {s['idle_after_window_closed_mb']} MB"
                 if "idle_after_window_closed_mb" in s else ""))
