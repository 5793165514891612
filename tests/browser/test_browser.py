"""The page `docktray serve` serves, in a real Chromium (scripts/e2e-browser.sh): sign-in with the API token and
a session cookie, the real engine's containers, a live chart that grows, logs that follow, untrusted log text
shown as text, a stop with confirmation, read-only servers without actions, CSRF, and sign-out refusing the old
cookie. Tests run in file order against one browser."""

import json
import re
import time

import pytest
from conftest import http
from selenium.webdriver.common.by import By
from ui import CHART, CONFIRM_ACCEPT, CONFIRM_DIALOG, CONTAINER_STATE, LABEL_ROW, Window, action, wait_for

IMG = "<img src=x onerror=alert(1)>"
TICKER = ["sh", "-c", 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.3; done']
COOKIE = "__Host-docktray"

TOKEN_FIELD = (By.ID, "signin-token")
SIGN_IN_ERROR = (By.ID, "signin-error")


@pytest.fixture(scope="module")
def web(docker):
    """A running container that logs steadily and prints markup; started before the page opens."""
    return docker.run("web", cmd=["sh", "-c", f"echo '{IMG}'; " + TICKER[2]])


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
    shots("sign-in")


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
    shots("overview")


def test_a_containers_live_chart_gets_new_points(driver, window, web, shots):
    window.open_container(web)
    window.tab("stats")
    first = wait_for("the CPU chart to hold samples", lambda: int(window.all(CHART)[0].get_attribute("data-points") or 0))
    wait_for("new points pushed over the WebSocket",
             lambda: int(window.all(CHART)[0].get_attribute("data-points") or 0) >= first + 3, 30)
    shots("container-stats")


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
    shots("container-logs")


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
    shots("images")
    window.open_container(web)
    window.tab("info")
    wait_for("the container's labels from its inspect data",
             lambda: any("docktray.test" in t for t in window.texts(LABEL_ROW)), 20)


def test_an_alert_is_acknowledged_from_the_page(driver, window, server, docker, shots):
    exits = docker.run("exits", cmd=["sh", "-c", "exit 5"])
    window.go("alerts")
    button = (By.XPATH, f'//button[starts-with(@aria-label, "Acknowledge {exits} ")]')
    wait_for(f"an alert for {exits} to acknowledge", lambda: driver.find_elements(*button), 30)
    shots("alerts")
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
    shots("docs")
    driver.get(server["url"])
    window.assert_rendered()
    wait_for("the dashboard again", lambda: driver.find_elements(By.XPATH, '//nav[@aria-label="Main"]'))


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
    shots("settings")


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
    shots("behind-caddy")

