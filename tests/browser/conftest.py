"""Fixtures of the browser test (scripts/e2e-browser.sh starts the servers and Xvfb and sets the environment):
Chromium over chromedriver, the docker CLI against the test engine, screenshots of the Xvfb screen."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

# The desktop e2e's selectors and waits (tests/e2e/ui.py) describe the same App.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))

RUN_ID = os.getpid()


class Docker:
    """The docker CLI against the test engine; every container is labelled docktray.test=1 and removed."""

    def __init__(self):
        self.cli = shutil.which("docker") or "/usr/bin/docker"
        self.image = os.environ["DOCKTRAY_TEST_IMAGE"]
        self.created = []

    def __call__(self, *args, check=True):
        result = subprocess.run([self.cli, *args], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "DOCKER_CONTEXT": ""})
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def run(self, role, *args, cmd):
        name = f"browser-{RUN_ID}-{role}"
        self("run", "-d", "--label", "docktray.test=1", "--name", name, *args, self.image, *cmd)
        self.created.append(name)
        return name

    def running(self, name):
        return self("inspect", "--format", "{{.State.Running}}", name) == "true"

    def remove_all(self):
        if self.created:
            self("rm", "-f", "-v", *self.created, check=False)


@pytest.fixture(scope="session")
def docker():
    d = Docker()
    yield d
    d.remove_all()


def downloads_folder():
    folder = os.path.join(os.environ.get("E2E_WORK", tempfile.gettempdir()), "downloads")
    os.makedirs(folder, exist_ok=True)
    return folder


def rest_pointer(driver):
    """Moves the mouse to an empty corner of the page and waits for hover effects to go (a tooltip left by the
    last click, the link preview at the bottom), so a screenshot shows the page as it is, not the pointer's trail."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    builder = ActionBuilder(driver)
    builder.pointer_action.move_to_location(max(width - 4, 0), max(height - 4, 0))
    builder.perform()
    driver.execute_script("document.activeElement?.blur?.();")
    time.sleep(0.8)


def screen_pixel(x, y):
    """The (r, g, b) the Xvfb screen shows at (x, y): what a user would see there, not what the page computed."""
    with tempfile.NamedTemporaryFile(suffix=".png") as grab:
        subprocess.run(["import", "-window", "root", grab.name], check=True, timeout=30)
        text = subprocess.run(["convert", grab.name, "-crop", f"1x1+{x}+{y}", "-depth", "8", "txt:-"],
                              check=True, timeout=30, capture_output=True, text=True).stdout
    # "0,0: (14,16,20)  #0E1014  srgb(14,16,20)"
    rgb = text.strip().splitlines()[-1].split("(", 1)[1].split(")", 1)[0]
    return tuple(int(float(part)) for part in rgb.split(",")[:3])


def luminance(rgb):
    """WCAG relative luminance of an sRGB colour (0 black, 1 white)."""
    def linear(channel):
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def on_screen(driver, element, dx, dy):
    """Screen coordinates of the point (dx, dy) inside `element` (negative: from its right/bottom edge), with the
    browser's own toolbar above the page."""
    box = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return [r.left, r.top, r.right, r.bottom, window.screenX, window.screenY,"
        "        window.outerHeight - window.innerHeight];", element)
    left, top, right, bottom, screen_x, screen_y, toolbar = box
    x = (left + dx) if dx >= 0 else (right + dx)
    y = (top + dy) if dy >= 0 else (bottom + dy)
    return int(screen_x + x), int(screen_y + toolbar + y)


def chromium():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.environ.get("DISPLAY"):
        options.add_argument("--headless")
    for arg in ("--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--password-store=basic",
                "--window-position=0,0", "--window-size=1280,800", f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(arg)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver",
                      log_output=os.path.join(os.environ.get("E2E_WORK", tempfile.gettempdir()), "chromedriver.log"))
    # No "controlled by automated test software" bar in the screenshots.
    options.add_experimental_option("excludeSwitches", ["enable-automation"])
    # No "save password?" bubble over the screenshots (the page asks browsers not to keep the token, but Chromium
    # may offer it for any password field).
    # Exports are downloads: saved without asking, into E2E_WORK/downloads.
    options.add_experimental_option("prefs", {"credentials_enable_service": False,
                                              "profile.password_manager_enabled": False,
                                              "download.default_directory": downloads_folder(),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(20)
    return driver


@pytest.fixture(scope="module")
def driver():
    d = chromium()
    yield d
    d.quit()


@pytest.fixture
def fresh_driver():
    d = chromium()
    yield d
    d.quit()


@pytest.fixture(scope="session")
def server():
    with open(os.environ["BROWSER_TOKEN_FILE"]) as f:
        return {"url": os.environ["BROWSER_URL"], "token": f.read().strip()}


@pytest.fixture(scope="session")
def read_only_server():
    with open(os.environ["BROWSER_RO_TOKEN_FILE"]) as f:
        return {"url": os.environ["BROWSER_RO_URL"], "token": f.read().strip()}


def http(url, headers=None, method="GET"):
    """(status, body) of a plain request, without a browser."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="session")
def shots():
    """Screenshots of the whole Xvfb screen (what a user sees), into docs/screenshots/browser-<name>.png."""
    folder = os.environ.get("E2E_SCREENSHOT_DIR", tempfile.gettempdir())
    os.makedirs(folder, exist_ok=True)

    def take(name, driver=None):
        if driver is not None:
            rest_pointer(driver)
        path = os.path.join(folder, f"browser-{name}.png")
        if os.environ.get("DISPLAY") and shutil.which("import"):
            subprocess.run(["import", "-window", "root", path], check=True, timeout=30)
        return path

    return take
