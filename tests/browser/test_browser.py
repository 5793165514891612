"""The page `docktray serve` serves, in a real Chromium (scripts/e2e-browser.sh): sign-in with the API token and
a session cookie, the real engine's containers, a live chart that grows, logs that follow, untrusted log text
shown as text, the Terminal tab running commands in a real container, a stop with confirmation, the timeline
exported as a download, read-only servers without actions (and saying how to allow them), CSRF, the dark theme,
and sign-out refusing the old cookie. Tests run in file order against one browser."""

import json
import os
import re
import time

import pytest
from access import reset_theme, set_theme
from conftest import downloads_folder, http, luminance, on_screen, rest_pointer, screen_pixel
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from ui import CHART, CONFIRM_ACCEPT, CONFIRM_DIALOG, CONTAINER_STATE, LABEL_ROW, Window, action, wait_for

IMG = "<img src=x onerror=alert(1)>"
TICKER = ["sh", "-c", 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.3; done']
COOKIE = "__Host-docktray"

TOKEN_FIELD = (By.ID, "signin-token")
TERMINAL = (By.CSS_SELECTOR, "[data-testid=terminal]")
TERMINAL_STATUS = (By.CSS_SELECTOR, "[data-testid=terminal-status]")
ACTIONS_OFF = (By.CSS_SELECTOR, "[data-testid=actions-off]")
UTF8 = "grüße-✓"
SIGN_IN_ERROR = (By.ID, "signin-error")


@pytest.fixture(scope="module")
def web(docker):
    """A running container that logs steadily and prints markup every fifth line; started before the page opens.
    The markup comes again and again: the log view renders only the rows in view, so a line printed once at the
    start has scrolled out of the document by the time the Logs tab is opened."""
    script = ("i=0; while :; do i=$((i+1)); if [ $((i % 5)) -eq 0 ]; then echo '" + IMG + "'; "
              'else echo "tick $i"; fi; sleep 0.3; done')
    return docker.run("web", cmd=["sh", "-c", script])


@pytest.fixture(scope="module")
def window(driver):
    return Window(driver)


def sign_in(driver, url, token):
    driver.get(url)
    field = wait_for("the sign-in form", lambda: next(iter(driver.find_elements(*TOKEN_FIELD)), None))
    field.clear()
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def test_without_a_session_the_api_refuses_and_the_page_asks_to_sign_in(driver, server, web, shots):
    for path in ("api/v1/snapshot", "containers", "api/v1/session"):
        status, body = http(server["url"] + path)
        assert status == 401, (path, status, body)
        assert json.loads(body)["error"] == "unauthorized"
    status, _ = http(server["url"] + "api/v1/snapshot", {"Cookie": f"{COOKIE}=made-up-session"})
    assert status == 401, "a made-up session cookie must be refused"
    driver.get(server["url"])
    wait_for("the sign-in form", lambda: driver.find_elements(*TOKEN_FIELD))
    assert web not in driver.find_element(By.TAG_NAME, "body").text
    shots("sign-in", driver)


def test_a_wrong_token_shows_a_clear_message(driver, server):
    sign_in(driver, server["url"], "0" * 64)
    message = wait_for("the refusal", lambda: next(iter(driver.find_elements(*SIGN_IN_ERROR)), None)).text
    assert "not the API token" in message and "docktray api token" in message, message
    assert not driver.get_cookies(), "a refused sign-in must not set a cookie"


def test_sign_in_shows_the_engines_containers(driver, window, server, web, shots):
    sign_in(driver, server["url"], server["token"])
    window.assert_rendered()
    window.go("containers")
    window.container_row(web)
    cookies = {c["name"]: c for c in driver.get_cookies()}
    assert COOKIE in cookies, cookies
    session = cookies[COOKIE]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict", session
    # The token is nowhere the page's scripts (or another tab) could read it back.
    stored = driver.execute_script(
        "return JSON.stringify([{...localStorage}, {...sessionStorage}, document.cookie, location.href])")
    assert server["token"] not in stored and session["value"] not in stored, stored
    window.go("overview")
    time.sleep(1)
    shots("overview", driver)


def test_a_containers_live_chart_gets_new_points(driver, window, web, shots):
    window.open_container(web)
    window.tab("stats")
    first = wait_for("the CPU chart to hold samples", lambda: int(window.all(CHART)[0].get_attribute("data-points") or 0))
    wait_for("new points pushed over the WebSocket",
             lambda: int(window.all(CHART)[0].get_attribute("data-points") or 0) >= first + 3, 30)
    shots("container-stats", driver)


def test_logs_follow_and_markup_stays_text(driver, window, web, shots):
    window.tab("logs")
    lines = wait_for("log lines", lambda: (lambda got: got if len(got) >= 3 else None)(window.log_lines()))
    newest = max(int(m.group(1)) for line in lines if (m := re.search(r"tick (\d+)", line)))
    wait_for("newer lines to arrive", lambda: any(
        int(m.group(1)) > newest + 2 for line in window.log_lines() if (m := re.search(r"tick (\d+)", line))), 20)
    wait_for("the markup line as text", lambda: any(IMG in line for line in window.log_lines()), 20)
    injected = driver.execute_script(
        "return [...document.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x' "
        "|| i.hasAttribute('onerror')).length + document.querySelectorAll('[onerror]').length")
    assert injected == 0, "a log line became markup"
    shots("container-logs", driver)


def terminal_lines(driver):
    """The terminal's rows as text (xterm's DOM renderer: one element per row)."""
    return [line.replace("\xa0", " ").rstrip() for line in driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=terminal] .xterm-rows > div')].map(r => r.textContent);")]


def terminal_status(driver):
    return " ".join(e.text for e in driver.find_elements(*TERMINAL_STATUS))


def run_in_terminal(driver, command, shown, what):
    """Types a command once the shell waits at its prompt, then waits until `shown(lines)` holds."""
    wait_for("the shell's prompt", lambda: (lambda lines: bool(lines) and lines[-1].endswith("#"))(
        [line for line in terminal_lines(driver) if line.strip()]), 15)
    box = driver.find_element(By.CSS_SELECTOR, "[data-testid=terminal] textarea.xterm-helper-textarea")
    box.send_keys(command)
    # Enter only once the shell echoed the whole line (no typeahead: see tests/e2e/test_workbench.py).
    wait_for(f"the shell to echo {command!r}", lambda: (lambda lines: bool(lines) and lines[-1].endswith(command))(
        [line for line in terminal_lines(driver) if line.strip()]), 15)
    box.send_keys(Keys.ENTER)
    wait_for(what, lambda: shown(terminal_lines(driver)), 15)


def test_the_terminal_runs_commands_in_a_real_container(driver, window, web, docker, shots):
    window.open_container(web)
    window.tab("terminal")
    # The busybox test image has no bash: the automatic pick falls back to sh.
    wait_for("the terminal to connect with sh", lambda: "Connected: sh" in terminal_status(driver), 30)
    driver.find_element(*TERMINAL).click()
    run_in_terminal(driver, "echo $((6*7))", lambda lines: "42" in lines, "42 in the terminal")
    # The terminal's size is the container's.
    element = driver.find_element(*TERMINAL)
    cols, rows = int(element.get_attribute("data-cols")), int(element.get_attribute("data-rows"))
    run_in_terminal(driver, "clear; stty size", lambda lines: f"{rows} {cols}" in lines, f"stty size to say {rows} {cols}")
    # UTF-8 typed in arrives intact (12 bytes with the newline) and comes back as typed.
    run_in_terminal(driver, f"clear; echo {UTF8} | wc -c; echo {UTF8}",
                    lambda lines: "12" in lines and UTF8 in lines, "the UTF-8 text back, byte count and all")
    # The shell runs in the container itself.
    run_in_terminal(driver, "echo made-in-browser > /tmp/from-browser", lambda lines: True, "the command")
    wait_for("the file in the container", lambda: docker("exec", web, "cat", "/tmp/from-browser", check=False) == "made-in-browser", 15)
    shots("container-terminal", driver)
    run_in_terminal(driver, "exit 4", lambda lines: True, "exit")
    wait_for("the end of the session", lambda: "exited with status 4" in terminal_status(driver), 15)


def test_the_timeline_exports_as_a_download(driver, window, shots):
    folder = downloads_folder()
    try:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": folder})
    except Exception:  # noqa: BLE001 - the profile's download folder applies then
        pass
    before = set(os.listdir(folder))
    window.go("timeline")
    wait_for("timeline rows", lambda: driver.find_elements(By.CSS_SELECTOR, "main table tbody tr[data-kind]"), 30)
    window.click([(By.XPATH, '//main//button[normalize-space()="Export…"]')], "the timeline's Export button")
    dialog = window.one([(By.CSS_SELECTOR, '[data-testid="export-dialog"]')], "the export dialog")
    dialog.find_element(By.CSS_SELECTOR, 'input[type="radio"][value="jsonl"]').click()
    name = dialog.find_element(By.CSS_SELECTOR, 'input[type="text"]').get_attribute("value")
    assert re.fullmatch(r"docktray-timeline-\d{8}-\d{6}\.jsonl", name), f"a file name, not a server path: {name}"
    assert "downloads" in dialog.text, dialog.text
    dialog.find_element(By.XPATH, './/button[normalize-space()="Download"]').click()
    path = os.path.join(folder, name)
    wait_for(f"{name} in the browser's downloads", lambda: os.path.exists(path) and os.path.getsize(path) > 0, 20)
    assert set(os.listdir(folder)) - before == {name}, os.listdir(folder)
    with open(path, encoding="utf-8") as f:
        exported = [json.loads(line) for line in f if line.strip()]
    columns = ["time", "host", "container", "kind", "object", "id", "exit_code", "oom", "signal", "health",
               "source", "actor", "action", "result", "error"]
    assert exported and all(list(r.keys()) == columns for r in exported), exported[:2]
    wait_for("the dialog to close", lambda: not driver.find_elements(By.CSS_SELECTOR, '[data-testid="export-dialog"]'), 10)


def test_a_change_without_the_csrf_token_is_refused(driver, server, web):
    answer = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {method: 'POST', credentials: 'same-origin'})
          .then(r => r.json().then(b => done([r.status, b.error, b.message])), e => done(String(e)));
        """,
        f"{server['url']}api/v1/containers/{web}/pause",
    )
    assert answer[0] == 403 and answer[1] == "forbidden" and "x-docktray-csrf" in answer[2], answer


def test_stop_asks_for_confirmation_then_stops(driver, window, docker):
    victim = docker.run("victim", cmd=["sleep", "3600"])
    window.open_container(victim)
    window.click(action("stop"), "the Stop button")
    dialog = window.one(CONFIRM_DIALOG, "the confirmation dialog")
    assert "stop" in dialog.text.lower(), dialog.text
    assert docker.running(victim), "asking must not stop it yet"
    window.click(CONFIRM_ACCEPT, "the confirm button")
    wait_for("docker to say the container stopped", lambda: not docker.running(victim), 30)
    wait_for("the page to show it exited", lambda: any("exited" in t.lower() for t in window.texts(CONTAINER_STATE)), 20)


def test_images_and_the_info_tab_come_from_the_api(driver, window, web, shots):
    """The desktop window's workbench and Info tab, in the page: the real engine's images, a container's labels."""
    import os
    window.go("resources")
    image = os.environ["DOCKTRAY_TEST_IMAGE"]
    wait_for(f"the test image {image} in the images table", lambda: any(
        image in table.text for table in driver.find_elements(By.CSS_SELECTOR, 'table[aria-label="Images on local"]')), 30)
    shots("images", driver)
    window.open_container(web)
    window.tab("info")
    wait_for("the container's labels from its inspect data",
             lambda: any("docktray.test" in t for t in window.texts(LABEL_ROW)), 20)


def test_an_alert_is_acknowledged_from_the_page(driver, window, server, docker, shots):
    exits = docker.run("exits", cmd=["sh", "-c", "exit 5"])
    window.go("alerts")
    button = (By.XPATH, f'//button[starts-with(@aria-label, "Acknowledge {exits} ")]')
    wait_for(f"an alert for {exits} to acknowledge", lambda: driver.find_elements(*button), 30)
    shots("alerts", driver)
    driver.find_element(*button).click()

    def acknowledged():
        status, body = http(server["url"] + "api/v1/snapshot", {"Authorization": f"Bearer {server['token']}"})
        alerts = [a for a in json.loads(body)["alerts"] if a["target"]["name"] == exits] if status == 200 else []
        return alerts and all(a["acknowledged"] for a in alerts)
    wait_for("the server to hold the alert as acknowledged", acknowledged, 20)
    wait_for("the Acknowledge button to go", lambda: not driver.find_elements(*button), 20)


def test_docs_render_the_api_reference(driver, window, server, shots):
    driver.get(server["url"] + "docs")
    try:
        endpoints = wait_for("the endpoints of the reference",
                             lambda: (lambda found: found if len(found) >= 45 else None)(
                                 driver.find_elements(By.CSS_SELECTOR, '[data-testid="endpoint"]')))
    except AssertionError as error:
        logs = [entry["message"] for entry in driver.get_log("browser")]
        raise AssertionError(f"{error}; page: {driver.find_element(By.TAG_NAME, 'body').text[:400]!r}; "
                             f"console: {logs}") from None
    text = driver.execute_script("return document.querySelector('main').textContent")
    assert "/api/v1/containers/{ref}/{action}" in text and "/api/v1/session" in text, text[:500]
    assert len(endpoints) >= 45
    shots("docs", driver)
    driver.get(server["url"])
    window.assert_rendered()
    wait_for("the dashboard again", lambda: driver.find_elements(By.XPATH, '//nav[@aria-label="Main"]'))


def test_the_dark_theme(driver, window, web, shots):
    window.go("overview")
    wait_for("the host card", lambda: driver.find_elements(By.CSS_SELECTOR, "article.host"), 20)
    the_screen_shows(driver, "light", "main")  # the probe tells the themes apart
    set_theme(driver, "dark")
    try:
        window.go("overview")
        wait_for("the host card", lambda: driver.find_elements(By.CSS_SELECTOR, "article.host"), 20)
        the_screen_shows(driver, "dark", "main")
        shots("overview-dark", driver)
        window.open_container(web)
        window.tab("logs")
        wait_for("log lines", lambda: len(window.log_lines()) >= 3, 20)
        the_screen_shows(driver, "dark", "main", "[role=log]")
        shots("container-logs-dark", driver)
        window.tab("terminal")
        wait_for("the terminal to connect", lambda: "Connected: sh" in terminal_status(driver), 30)
        run_in_terminal(driver, "printf '\\033[32mgreen\\033[0m and plain\\n'", lambda lines: "green and plain" in lines,
                        "coloured output")
        the_screen_shows(driver, "dark", "main")
        shots("container-terminal-dark", driver)
    finally:
        reset_theme(driver)


def the_screen_shows(driver, theme, *selectors):
    """What the screen shows (not only what the page computed) has the theme's background at an empty spot near
    the top right of each element: a screenshot of the dark theme once showed the container view light beside a
    dark sidebar, the page computing dark colours (Chromium on Xvfb had not put the new frame on the screen)."""
    def pixels():
        spots = [on_screen(driver, driver.find_element(By.CSS_SELECTOR, selector), -60, 8) for selector in selectors]
        return [(selector, spot, screen_pixel(*spot)) for selector, spot in zip(selectors, spots)]
    rest_pointer(driver)  # as the screenshot is taken: the pointer out of the way, nothing focused
    computed = driver.execute_script("return getComputedStyle(document.body).backgroundColor;")
    seen = []

    def shown():
        seen[:] = pixels()
        return all((luminance(rgb) < 0.05) == (theme == "dark") for _, _, rgb in seen)
    try:
        wait_for(f"the screen to show the {theme} theme", shown, 10)
    except AssertionError as error:
        raise AssertionError(f"the page computes the background {computed} ({theme} theme) but the screen shows "
                             f"{seen}") from error


def test_a_setting_changed_in_the_page_is_saved_in_the_servers_config_file(driver, window, server, shots):
    """The Settings view in the page: a change is validated and saved through the API (CSRF header, [api]
    allow_actions on this server) into the server's config file, with its comments kept."""
    import os
    config = os.path.join(os.environ["E2E_WORK"], "rw", "config", "docktray", "config.toml")
    before = open(config, encoding="utf-8").read()
    window.go("settings")
    field = wait_for("the log lines field", lambda: next(iter(driver.find_elements(
        By.CSS_SELECTOR, '[data-key="logs.ring_lines"] input')), None))
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-key="desktop.start_at_login"]'), \
        "start at login is a desktop's only"
    field.clear()
    field.send_keys("4321")
    save = driver.find_element(By.XPATH, '//form//button[@type="submit" and normalize-space()="Save"]')
    wait_for("Save to be enabled", lambda: save.is_enabled())
    save.click()
    toast = wait_for("the saved message", lambda: next(iter(driver.find_elements(
        By.XPATH, '//*[contains(text(), "takes effect when Docktray starts again")]')), None))
    assert "[logs]" in toast.text, toast.text
    after = open(config, encoding="utf-8").read()
    assert re.search(r"^ring_lines = 4321$", after, re.M), after
    for line in (l for l in before.splitlines() if l.startswith("#")):
        assert line in after, f"comment {line!r} lost:\n{after}"
    shots("settings", driver)


def test_sign_out_and_the_old_cookie_is_refused(driver, server):
    old = driver.get_cookie(COOKIE)["value"]
    status, _ = http(server["url"] + "api/v1/snapshot", {"Cookie": f"{COOKIE}={old}"})
    assert status == 200, "the session cookie signs requests in before sign-out"
    driver.find_element(By.XPATH, '//nav[@aria-label="Main"]//button[normalize-space()="Sign out"]').click()
    wait_for("the sign-in form again", lambda: driver.find_elements(*TOKEN_FIELD))
    assert driver.get_cookie(COOKIE) is None, "sign-out clears the cookie"
    status, body = http(server["url"] + "api/v1/snapshot", {"Cookie": f"{COOKIE}={old}"})
    assert status == 401, (status, body)
    assert "sign in again" in json.loads(body)["message"]


def test_a_read_only_server_offers_no_actions(fresh_driver, read_only_server, web):
    window = Window(fresh_driver)
    sign_in(fresh_driver, read_only_server["url"], read_only_server["token"])
    window.assert_rendered()
    window.open_container(web)
    window.tab("stats")
    assert not window.all(action("stop")), "a server without allow_actions must not offer Stop"
    # The terminal is an action: its tab says how to allow it instead of failing.
    window.tab("terminal")
    note = wait_for("the note saying actions are off", lambda: next(iter(fresh_driver.find_elements(*ACTIONS_OFF)), None))
    assert "allow_actions = true" in note.text, note.text
    assert not fresh_driver.find_elements(*TERMINAL), "no terminal opens on a read-only server"
    # Removals are disabled, and the view says why.
    window.go("resources")
    remove = (By.XPATH, '//button[starts-with(@aria-label, "Remove image")]')
    buttons = wait_for("the images' Remove buttons", lambda: fresh_driver.find_elements(*remove), 30)
    assert all(not b.is_enabled() for b in buttons), "Remove must be disabled without allow_actions"
    assert "allow_actions = true" in fresh_driver.find_element(*ACTIONS_OFF).text
    nav = fresh_driver.find_element(By.XPATH, '//nav[@aria-label="Main"]').text
    assert "Settings" in nav, f"the settings can be read from any server: {nav}"
    assert "Images & volumes" in nav, f"the workbench is in the page: {nav}"


def test_behind_caddy_under_a_path_prefix(fresh_driver, server, web, shots):
    """Caddy proxies /docktray/* (prefix passed on, [api] base_path = "/docktray"): the page, its assets, the
    sign-in cookie and the WebSockets all work under the prefix."""
    import os
    url = os.environ["BROWSER_PROXY_URL"]
    window = Window(fresh_driver)
    sign_in(fresh_driver, url, server["token"])
    window.assert_rendered()
    assert fresh_driver.current_url.startswith(url), fresh_driver.current_url
    window.open_container(web)
    window.tab("logs")
    lines = wait_for("log lines through the proxy", lambda: (lambda got: got if len(got) >= 3 else None)(window.log_lines()))
    newest = max(int(m.group(1)) for line in lines if (m := re.search(r"tick (\d+)", line)))
    wait_for("newer lines through the proxy's WebSocket", lambda: any(
        int(m.group(1)) > newest + 2 for line in window.log_lines() if (m := re.search(r"tick (\d+)", line))), 20)
    shots("behind-caddy", fresh_driver)

