"""Fixtures of the end-to-end test. Run through scripts/e2e.sh, which provides (environment):

E2E_APP (the docktray-desktop binary), E2E_PORT (tauri-driver), E2E_SNI_LOG / E2E_NOTIFY_LOG (recordings of
tests/e2e/sni_watcher.py and notify_monitor.py), E2E_SCREENSHOT_DIR, E2E_WORK (the app's temp HOME etc.),
DOCKER_HOST and DOCKTRAY_TEST_IMAGE (scripts/test-env.sh).

One app process serves the whole session: WebKitWebDriver launches it when the WebDriver session starts. The
app starts in the tray with no window, and the session attaches to the first webview the app creates, so while
the session is being created the test opens the window the way a user does: "Open Docktray" in the tray menu,
clicked over D-Bus (WebKitWebDriver waits for the webview; 12 s later still attached here). Tests then run in
file order against that window; it must never be closed (a new one would not be under automation).
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid

import pytest
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig

import tray

APP = os.environ.get("E2E_APP", "")
PORT = os.environ.get("E2E_PORT", "4444")
RUN_ID = uuid.uuid4().hex[:6]


def pytest_configure(config):
    missing = [v for v in ("E2E_APP", "E2E_SNI_LOG", "E2E_NOTIFY_LOG", "DOCKER_HOST", "DOCKTRAY_TEST_IMAGE")
               if not os.environ.get(v)]
    if missing:
        raise pytest.UsageError(f"run the e2e tests through scripts/e2e.sh (missing {', '.join(missing)})")


class Docker:
    """The docker CLI against the test engine; every container is labelled docktray.test=1 and removed."""

    def __init__(self):
        self.cli = os.environ.get("DOCKER_CLI") or (
            "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else shutil.which("docker")
        )
        self.image = os.environ["DOCKTRAY_TEST_IMAGE"]
        self.created = []

    def __call__(self, *args, check=True, timeout=60):
        result = subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "DOCKER_CONTEXT": ""},
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def name(self, role):
        return f"e2e-{RUN_ID}-{role}"

    def run(self, role, *args, cmd):
        """Starts a detached container named e2e-<run>-<role>; returns its name."""
        name = self.name(role)
        self("run", "-d", "--label", "docktray.test=1", "--name", name, *args, self.image, *cmd)
        self.created.append(name)
        return name

    def inspect(self, name, fmt):
        return self("inspect", "--format", fmt, name)

    def running(self, name):
        return self.inspect(name, "{{.State.Running}}") == "true"

    def remove_all(self):
        if self.created:
            self("rm", "-f", "-v", *self.created, check=False)
            self.created.clear()


@pytest.fixture(scope="session")
def docker():
    d = Docker()
    yield d
    d.remove_all()


def app_pids():
    """Processes running the app binary that belong to this run (their environment names our work dir)."""
    pids = []
    work = os.environ.get("E2E_WORK", "").encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
            if exe != APP and exe != APP + " (deleted)":
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if b"E2E_WORK=" + work + b"\0" not in f.read():
                    continue
        except OSError:
            continue
        pids.append(int(entry))
    return pids


_session = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test leaves a screenshot of the window in the run's work dir (kept in target/e2e-logs/)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "driver" in _session and os.environ.get("E2E_WORK"):
        try:
            with open(os.path.join(os.environ["E2E_WORK"], f"failed-{item.name}.png"), "wb") as f:
                f.write(window_png())
        except Exception:  # the window may be gone; the report matters more
            pass


def open_window_from_tray(outcome):
    """Waits for the app's tray item, then clicks its "Open Docktray" menu entry."""
    try:
        item = tray.wait_item(60)
        deadline = time.monotonic() + 30
        while True:
            entries = [e for e in tray.menu(item) if e["label"].lower().startswith("open")]
            if entries:
                break
            if time.monotonic() > deadline:
                raise tray.TrayError(f"no Open entry in the tray menu: {tray.menu(item)}")
            time.sleep(0.2)
        tray.click(item, entries[0]["id"])
        outcome["clicked"] = entries[0]["label"]
    except Exception as error:  # reported by the driver fixture
        outcome["error"] = error


@pytest.fixture(scope="session")
def driver():
    options = ArgOptions()
    options.set_capability("browserName", "wry")  # what wry reports to WebKitWebDriver
    options.set_capability("tauri:options", {"application": APP})
    url = f"http://127.0.0.1:{PORT}"
    outcome = {}
    opener = threading.Thread(target=open_window_from_tray, args=(outcome,), daemon=True)
    opener.start()
    try:
        # Every WebDriver request is bounded (creating the session launches the app: allow for a cold start).
        d = webdriver.Remote(command_executor=url, options=options,
                             client_config=ClientConfig(remote_server_addr=url, timeout=90))
    except Exception as error:
        opener.join(5)
        raise AssertionError(f"no WebDriver session on the app's window (tray: {outcome})") from error
    opener.join(5)
    _session["driver"] = d
    d.implicitly_wait(0)
    d.set_script_timeout(10)
    pids = app_pids()
    yield d
    try:
        d.quit()
    finally:
        # The app stays alive without a window (tray app): end the process(es) this session started.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
            time.sleep(0.1)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(1)


@pytest.fixture(scope="session")
def screenshot_dir():
    directory = os.environ.get("E2E_SCREENSHOT_DIR") or os.path.join(os.path.dirname(__file__), "../../docs/screenshots")
    os.makedirs(directory, exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def shots(driver, screenshot_dir):
    """shots("overview") saves a screenshot of the window as docs/screenshots/overview.png."""
    directory = screenshot_dir

    last = {}

    def take(name):
        # Let the view paint: two animation frames (the second runs after a frame with the new DOM was
        # produced), then a moment for a chart redraw. Without it a busy machine can hand back the last frame
        # of the previous view.
        driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));")
        time.sleep(0.6)
        png = window_png()
        # The same pixels as the previous, different view: a stale frame; give the painter another chance.
        for _ in range(5):
            if png != last.get("png"):
                break
            time.sleep(1)
            png = window_png()
        last["png"] = png
        path = os.path.join(directory, f"{name}.png")
        with open(path, "wb") as f:
            f.write(png)
        return path

    return take


def window_png():
    """The Docktray window as the X server shows it (ImageMagick `import`), PNG bytes.

    Taken from the display rather than with WebDriver's screenshot command: without GPU compositing (the app's
    default, src-tauri/src/footprint.rs) WebKitWebDriver's screenshot waits for the page's next repaint, which a
    static view (the alerts list) may not have for minutes.
    """
    ids = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Docktray$"],
                         capture_output=True, text=True, timeout=10).stdout.split()
    if not ids:
        raise AssertionError("no visible Docktray window to capture")
    return subprocess.run(["import", "-window", ids[0], "png:-"], capture_output=True, check=True,
                          timeout=30).stdout


def recorded_notifications():
    try:
        with open(os.environ["E2E_NOTIFY_LOG"]) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def dunstctl(*args):
    """Runs dunstctl against the run's dunst (the session bus of scripts/e2e.sh); returns its stdout."""
    result = subprocess.run(["dunstctl", *args], capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise AssertionError(f"dunstctl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def click_notification(nid, timeout=10):
    """Clicks notification `nid` on the real server as the user would: dunst invokes its default action and
    sends ActionInvoked(nid, "default") to the app (`dunstctl action`, what the left click of the run's dunstrc
    does).

    `dunstctl action N` acts on the N-th notification on screen and dunst cannot list them, so the other
    notifications still open (the monitor saw them answered and not closed) are dismissed first
    (CloseNotification), until `nid` is the only one on screen. dunst keeps the older one on top among
    notifications of the same urgency, so one arriving meanwhile does not take its place. Returns once the
    monitor saw dunst send ActionInvoked for `nid`.
    """
    deadline = time.monotonic() + timeout
    while True:
        notes = {n["id"]: n for n in recorded_notifications()}  # the latest record of each id
        if nid not in notes or notes[nid]["closed"] is not None:
            raise AssertionError(f"notification {nid} is not on screen: {notes.get(nid)}")
        for other in (i for i, n in notes.items() if i != nid and n["closed"] is None):
            subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.Notifications",
                            "/org/freedesktop/Notifications", "org.freedesktop.Notifications.CloseNotification",
                            f"uint32:{other}"], capture_output=True, timeout=10, check=True)
        displayed = int(dunstctl("count", "displayed"))
        if displayed == 1:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"dunst shows {displayed} notifications, not only {nid}: {list(notes.values())}")
        time.sleep(0.1)
    dunstctl("action", "0")
    deadline = time.monotonic() + timeout
    while True:
        note = next((n for n in reversed(recorded_notifications()) if n["id"] == nid), None)
        if note is not None and "default" in note["invoked"]:
            return note
        if time.monotonic() > deadline:
            raise AssertionError(f"dunst sent no ActionInvoked(default) for notification {nid}: {note}")
        time.sleep(0.1)
