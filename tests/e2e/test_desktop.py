"""End-to-end test of the real desktop app (scripts/e2e.sh runs it): the Tauri window driven over WebDriver,
the tray icon and menu read over D-Bus from outside the process, notifications sent to a real
notification server (dunst) and recorded by a D-Bus monitor, containers on a real Docker engine. Tests run in file order against one
app process; each leaves a screenshot of the view it checked in docs/screenshots/.
"""

import os
import re
import time

import pytest
import tray
from conftest import click_notification, recorded_notifications
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from ui import (ALERT_ROW, CHART, CSS, CONFIRM_ACCEPT, CONFIRM_CANCEL, CONFIRM_DIALOG, CONTAINER_STATE, ENV_REVEAL,
                ENV_ROW, LABEL_ROW, LOG_SEARCH, Window, action, container_row, wait_for)

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"

# One line every 0.3 s; every fifth says "marker", for the search.
TICKER = ["sh", "-c", 'i=0; while :; do i=$((i+1)); if [ $((i % 5)) -eq 0 ]; then echo "marker $i needle"; '
          'else echo "tick $i"; fi; sleep 0.3; done']


@pytest.fixture(scope="module")
def web(docker):
    """A running container that logs steadily; started before the app so the first snapshot has it."""
    return docker.run("web", "--label", "com.example.role=web", "--env", "GREETING=hello", cmd=TICKER)


@pytest.fixture(scope="module")
def window(web, driver):
    w = Window(driver)
    w.assert_rendered()
    return w


@pytest.fixture(scope="module")
def item(driver):
    return tray.wait_item(30)


def test_tray_icon_is_exported_and_green(item):
    level = wait_for("the tray icon to turn green (ok)", lambda: tray.icon_level(item)[0] == "ok", 30)
    assert level
    labels = [entry["label"] for entry in tray.menu(item)]
    assert any(label for label in labels), f"the tray menu has no labelled entries: {labels}"


def test_window_lists_the_test_container(window, web, docker, shots):
    window.go("overview")
    shots("overview")
    window.go("containers")
    window.container_row(web)
    wait_for(f"{web} listed as running", lambda: any(web in t and "running" in t.lower()
                                                      for t in window.texts(container_row(web))), 10)
    # A container started while the window is open appears without a reload (pushed snapshots).
    late = docker.run("late", cmd=["sleep", "3600"])
    window.container_row(late)
    wait_for(f"figures for {late}", lambda: "%" in "".join(window.texts(container_row(late))), 15)
    shots("containers")


def test_vps_card_and_detail_from_the_local_webdock_api(window, shots):
    """scripts/e2e.sh configures one Webdock account against the tests' local Webdock API (two servers)."""
    window.go("overview")
    card = window.one([(CSS, 'article.vps[aria-labelledby="vps-shop1"]')], "the Shop VPS card", 30)
    wait_for("the Shop card's figures", lambda: "%" in card.text and "running" in card.text.lower(), 30)
    window.one([(CSS, 'article.vps[aria-labelledby="vps-blog1"]')], "the Blog VPS card", 10)
    shots("overview")
    card.find_element(By.XPATH, './/h2/a[normalize-space()="Shop"]').click()
    wait_for("the VPS detail of Shop", lambda: any(
        h.text.strip() == "Shop" for h in window.d.find_elements(By.CSS_SELECTOR, "main h1")), 15)
    wait_for("its IP address and profile", lambda: "203.0.113.10" in window.body_text(), 15)
    # Webdock's own history seeds the charts (uPlot on a canvas), so they are drawn on open.
    charts = wait_for("the VPS charts seeded from Webdock's history", lambda: [
        c for c in window.all([(CSS, "main figure.chart")])
        if int(c.get_attribute("data-points") or 0) >= 2 and c.find_elements(By.TAG_NAME, "canvas")], 30)
    assert len(charts) >= 3, f"CPU, memory and disk charts at least: {len(charts)}"
    shots("vps")


def test_detail_shows_charts_and_live_logs(window, web, shots):
    window.open_container(web)
    window.tab("stats")
    charts = wait_for("charts with a drawn canvas", lambda: [
        c for c in window.all(CHART)
        if any(x.size["width"] > 50 and x.size["height"] > 30 for x in c.find_elements(By.CSS_SELECTOR, "canvas"))
    ])
    assert len(charts) >= 2, f"only {len(charts)} chart(s) in the Stats tab"
    # Live samples (every 500 ms) reach the first chart (CPU).
    wait_for("the CPU chart to hold several samples",
             lambda: int(window.all(CHART)[0].get_attribute("data-points") or 0) >= 4, 20)
    shots("container-stats")

    window.tab("logs")
    first = wait_for("log lines", lambda: (lambda lines: lines if len(lines) >= 3 else None)(window.log_lines()))
    newest = max(int(m.group(1)) for line in first if (m := re.search(r"(?:tick|marker) (\d+)", line)))
    wait_for("a newer log line to arrive", lambda: any(
        int(m.group(1)) > newest + 2 for line in window.log_lines() if (m := re.search(r"(?:tick|marker) (\d+)", line))
    ), 15)
    shots("container-logs")


def test_log_search_filters_lines(window):
    search = window.one(LOG_SEARCH, "the log search box")
    search.clear()
    search.send_keys("needle")
    filtered = wait_for("only matching lines", lambda: (
        lambda lines: lines if lines and all("needle" in line for line in lines) else None)(window.log_lines()))
    assert all(line.startswith("marker") or "marker" in line for line in filtered), filtered
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.BACKSPACE)
    wait_for("all lines back after clearing the search",
             lambda: any("tick" in line for line in window.log_lines()))


def test_info_shows_labels_and_environment(window, web, docker, shots):
    window.tab("info")
    wait_for("the label row", lambda: any("com.example.role" in t and "web" in t
                                          for t in window.texts(LABEL_ROW)))
    wait_for("the environment row", lambda: any("GREETING" in t for t in window.texts(ENV_ROW)))
    assert docker.image.split(":")[0] in window.body_text()
    shots("container-info")


def test_stop_asks_for_confirmation_then_stops(window, docker):
    victim = docker.run("victim", cmd=["sleep", "3600"])
    window.open_container(victim)
    window.click(action("stop"), "the Stop button")
    window.one(CONFIRM_DIALOG, "the confirmation dialog")
    window.click(CONFIRM_CANCEL, "Cancel")
    wait_for("the dialog to close", lambda: not window.all(CONFIRM_DIALOG), 5)
    time.sleep(1)
    assert docker.running(victim), "cancelling the confirmation must not stop the container"

    window.click(action("stop"), "the Stop button")
    dialog = window.one(CONFIRM_DIALOG, "the confirmation dialog")
    assert victim in dialog.text or "stop" in dialog.text.lower(), dialog.text
    window.click(CONFIRM_ACCEPT, "the confirm button")
    wait_for("docker inspect to say the container stopped", lambda: not docker.running(victim), 30)
    wait_for("the window to show the container exited",
             lambda: any("exited" in t.lower() for t in window.texts(CONTAINER_STATE)), 15)


def test_untrusted_text_is_shown_literally(window, docker, driver):
    hostile = docker.run(
        "hostile",
        "--label", f"docktray.img={IMG}",
        "--label", f"docktray.script={SCRIPT}",
        "--env", f"XSS_IMG={IMG}",
        "--env", f"XSS_SCRIPT={SCRIPT}",
        cmd=["sh", "-c", f"while :; do echo '{IMG}'; echo '{SCRIPT}'; sleep 1; done"],
    )
    window.open_container(hostile)

    window.tab("info")
    wait_for("the labels as text", lambda: all(any(s in t for t in window.texts(LABEL_ROW)) for s in (IMG, SCRIPT)))
    for row in window.all(ENV_ROW):
        if "XSS_" in row.text:
            for button in window.all(ENV_REVEAL, root=row):
                if button.is_displayed():
                    button.click()
    wait_for("the environment values as text",
             lambda: all(any(s in t for t in window.texts(ENV_ROW)) for s in (IMG, SCRIPT)))
    assert_no_injected_elements(driver)

    window.tab("logs")
    wait_for("the log lines as text", lambda: (
        lambda lines: any(IMG in line for line in lines) and any(SCRIPT in line for line in lines))(window.log_lines()))
    assert_no_injected_elements(driver)


def assert_no_injected_elements(driver):
    found = driver.execute_script(
        """
        const imgs = [...document.querySelectorAll('img')].filter(
          i => i.getAttribute('src') === 'x' || i.hasAttribute('onerror'));
        const scripts = [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(1)'));
        const handlers = [...document.querySelectorAll('[onerror], [onload], [onclick]')];
        return {imgs: imgs.length, scripts: scripts.length, handlers: handlers.length};
        """
    )
    assert found == {"imgs": 0, "scripts": 0, "handlers": 0}, f"untrusted text became markup: {found}"


def test_critical_container_turns_tray_red_and_notifies(window, docker, item, shots, screenshot_dir):
    level, _, _ = tray.icon_level(item)
    assert level != "critical", "the tray is already red before any container is over its threshold"
    before = len(recorded_notifications())
    hot = docker.run("hot", "--cpus", "0.5", cmd=["sh", "-c", "while :; do :; done"])
    try:
        wait_for("the tray icon to turn red (critical) with a badge", lambda: tray.icon_level(item)[:2] == ("critical", True), 60)
        save_tray_picture(tray.icon_file(item), screenshot_dir)

        note = wait_for("a critical notification (urgency 2) naming the container", lambda: next(
            (n for n in recorded_notifications()[before:]
             if n["urgency"] == 2 and hot in n["summary"] + " " + n["body"]), None), 30)
        assert "default" in note["actions"], f"the notification offers no click action: {note}"

        entries = wait_for("a tray menu entry for the alert", lambda: [
            e for e in tray.menu(item) if hot in e["label"]], 15)
        assert entries[0]["label"].startswith("●"), entries

        window.go("alerts")
        wait_for("the alert in the Alerts view", lambda: any(hot in t for t in window.texts(ALERT_ROW)), 20)
        shots("alerts")
        window.go("overview")
        wait_for("the overview to mention the critical container", lambda: hot in window.body_text(), 20)
        shots("overview")

        # Clicking the notification opens the window on the container it is about.
        hot_id = docker.inspect(hot, "{{.Id}}")
        click_notification(note["id"])
        wait_for("the window to show the container the notification is about",
                 lambda: hot_id in window.d.execute_script("return location.hash")
                 and hot in window.body_text(), 20)
    finally:
        docker("rm", "-f", hot, check=False)


def save_tray_picture(png, directory):
    """docs/screenshots/tray.png: the icon the tray shows, scaled up without smoothing."""
    with Image.open(png) as icon:
        icon = icon.convert("RGBA")
        big = icon.resize((icon.width * 4, icon.height * 4), Image.NEAREST)
    canvas = Image.new("RGBA", (big.width + 32, big.height + 32), (0x2b, 0x2d, 0x31, 255))
    canvas.alpha_composite(big, (16, 16))
    canvas.save(os.path.join(directory, "tray.png"))


def test_settings_view_shows_the_config(window, shots):
    window.go("settings")
    # The file the app was started with (scripts/e2e.sh writes it into the run's XDG_CONFIG_HOME).
    path = os.path.join(os.environ["XDG_CONFIG_HOME"], "docktray", "config.toml")
    wait_for(f"the settings of {path}", lambda: path in window.body_text())
    shots("settings")
