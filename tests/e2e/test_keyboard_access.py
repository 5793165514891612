"""The window with the keyboard alone and for assistive technology (runs after test_desktop.py, on the same app):

- axe-core (npm, injected locally) on every view and dialog, in the light and the dark theme: no serious or
  critical violation (contrast, names, roles, ARIA use, ...);
- every control of each view reachable with Tab, in document order, with a visible focus ring;
- one path with key presses only: find a container, open it, read its logs, stop it with the confirmation.

The dark theme's screenshots land in docs/screenshots/*-dark.png beside the light ones of test_desktop.py.
"""

import re

import pytest
from access import (assert_no_serious_violations, audit_tab_order, chord, describe, focused, press, reset_theme,
                    set_theme, theme)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from ui import CONFIRM_DIALOG, CSS, Window, wait_for

# One line every 0.3 s, so its Logs tab has something to read.
TALKER = ["sh", "-c", 'i=0; while :; do i=$((i+1)); echo "walk line $i"; sleep 0.3; done']


@pytest.fixture(scope="module")
def window(driver):
    w = Window(driver)
    w.assert_rendered()
    yield w
    reset_theme(driver)


@pytest.fixture(scope="module")
def talker(docker):
    return docker.run("talker", cmd=TALKER)


def route(window, hash_, ready, what, timeout=30):
    window.d.execute_script("window.location.hash = arguments[0];", hash_)
    return wait_for(what, lambda: window.d.execute_script(ready), timeout)


def container_href(window, name):
    """The detail route of container `name`, from the containers list."""
    route(window, "#/containers", "return !!document.querySelector('table[aria-label=Containers]');", "the containers table")
    return wait_for(f"a link to {name}", lambda: window.d.execute_script(
        "const a = [...document.querySelectorAll('table a')].find(a => a.innerText.trim() === arguments[0]);"
        "return a && a.getAttribute('href');", name), 30)


def local_host(window):
    href = wait_for("the local host's link", lambda: window.d.execute_script(
        "const a = document.querySelector('article.host h2 a'); return a && a.getAttribute('href');"), 30)
    return href


# (name, how to get there, JavaScript that is true once the view shows its data)
def views(window, talker_href, host_href):
    base = talker_href.rsplit("/", 1)[0]
    return [
        ("overview", "#/overview", "return document.querySelectorAll('article.host').length > 0;"),
        ("host", host_href, "return document.querySelectorAll('main figure.chart canvas').length >= 3;"),
        ("vps", "#/host/shop1", "return document.querySelectorAll('main figure.chart canvas').length >= 3;"),
        ("containers", "#/containers", "return document.querySelectorAll('table[aria-label=Containers] tbody tr').length > 1;"),
        ("container-stats", f"{base}/stats", "return [...document.querySelectorAll('main figure.chart')].some(f => +f.dataset.points >= 2);"),
        ("container-logs", f"{base}/logs", "return document.querySelectorAll('.logs .line').length >= 3;"),
        ("container-events", f"{base}/events", "return !!document.querySelector('main table[data-rows]');"),
        ("container-info", f"{base}/info", "return !!document.querySelector('main section h3');"),
        ("services", "#/services", "return !!document.querySelector('main .table-wrap');"),
        ("images", "#/resources/images", "return !!document.querySelector('main table[aria-label^=\"Images on\"]');"),
        ("alerts", "#/alerts", "return !!document.querySelector('table[aria-label=\"Active alerts\"], table[aria-label=\"Alert history\"]');"),
        ("timeline", "#/timeline", "return +(document.querySelector('main table[aria-label=\"Timeline of all hosts\"]')?.dataset.rows ?? 0) > 0;"),
        ("settings", "#/settings", "return document.querySelectorAll('main input').length > 3;"),
    ]


@pytest.mark.parametrize("wanted", ["light", "dark"])
def test_axe_finds_nothing_serious_on_any_view(window, talker, shots, wanted):
    talker_href = container_href(window, talker)
    route(window, "#/overview", "return true;", "the overview")
    host_href = local_host(window)
    set_theme(window.d, wanted)
    assert theme(window.d) == wanted
    failures = []
    for name, hash_, ready in views(window, talker_href, host_href):
        route(window, hash_, ready, f"the {name} view with its data")
        try:
            assert_no_serious_violations(window.d, f"the {name} view, {wanted} theme")
        except AssertionError as error:
            failures.append(str(error))
        if wanted == "dark":
            shots(f"{name}-dark")
    # The dialogs: the shortcuts overlay and a confirmation.
    press(window.d, "?")
    wait_for("the shortcuts overlay", lambda: window.all([(CSS, "[data-testid=shortcuts-help]")]), 10)
    try:
        assert_no_serious_violations(window.d, f"the shortcuts overlay, {wanted} theme")
    except AssertionError as error:
        failures.append(str(error))
    if wanted == "dark":
        shots("shortcuts-dark")
    press(window.d, Keys.ESCAPE)
    wait_for("the overlay to close", lambda: not window.all([(CSS, "[data-testid=shortcuts-help]")]), 10)
    route(window, talker_href.rsplit("/", 1)[0] + "/stats", "return !!document.querySelector('main h1');", "the talker")
    window.click([(By.XPATH, '//header//button[normalize-space()="Restart"]')], "the Restart button")
    window.one(CONFIRM_DIALOG, "the confirmation dialog")
    try:
        assert_no_serious_violations(window.d, f"the confirmation dialog, {wanted} theme")
    except AssertionError as error:
        failures.append(str(error))
    press(window.d, Keys.ESCAPE)
    wait_for("the dialog to close", lambda: not window.all(CONFIRM_DIALOG), 10)
    reset_theme(window.d)
    assert not failures, "\n\n".join(failures)


def test_every_control_is_reached_with_tab_in_order_with_a_visible_focus(window, talker):
    talker_href = container_href(window, talker)
    route(window, "#/overview", "return true;", "the overview")
    host_href = local_host(window)
    failures = []
    for name, hash_, ready in views(window, talker_href, host_href):
        route(window, hash_, ready, f"the {name} view with its data")
        try:
            stops = audit_tab_order(window.d, f"the {name} view")
            assert any(s["inNav"] for s in stops) and any(s["inMain"] for s in stops), [describe(s) for s in stops]
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n\n".join(failures)


def test_dialogs_keep_the_focus_inside_and_give_it_back(window, talker):
    talker_href = container_href(window, talker)
    route(window, talker_href, "return !!document.querySelector('main h1');", "the talker's detail")
    stop = window.one([(By.XPATH, '//header//button[normalize-space()="Stop"]')], "the Stop button")
    window.d.execute_script("arguments[0].focus();", stop)
    press(window.d, Keys.ENTER)
    window.one(CONFIRM_DIALOG, "the confirmation dialog")
    seen = []
    for _ in range(4):
        f = wait_for("the focus in the dialog", lambda: (lambda f: f if f and f["inDialog"] else None)(focused(window.d)), 5)
        assert f["visible"], f"no visible focus on {describe(f)}"
        seen.append(f["text"])
        press(window.d, Keys.TAB)
    assert seen[0] == "Cancel" and set(seen) == {"Cancel", "Stop"}, seen
    press(window.d, Keys.ESCAPE)
    wait_for("the dialog to close", lambda: not window.all(CONFIRM_DIALOG), 10)
    wait_for("the focus back on Stop", lambda: (focused(window.d) or {}).get("text") == "Stop", 5)
    # The shortcuts overlay: ? opens it, Tab stays in it, Escape closes it and the focus returns.
    press(window.d, "?")
    wait_for("the shortcuts overlay", lambda: (focused(window.d) or {}).get("inDialog"), 10)
    press(window.d, Keys.TAB)
    assert focused(window.d)["inDialog"], "Tab left the shortcuts overlay"
    text = window.one([(CSS, "[data-testid=shortcuts-help]")], "the overlay").text
    for shortcut in ("Alt+2", "Containers", "/", "Esc"):
        assert shortcut in text, text
    press(window.d, Keys.ESCAPE)
    wait_for("the focus back on Stop", lambda: (focused(window.d) or {}).get("text") == "Stop", 5)


def test_keyboard_only_open_a_container_read_its_logs_and_stop_it(window, docker, shots):
    """Every step is a key press: Alt+2, /, typing, Tab, Enter, arrows."""
    walker = docker.run("walker", cmd=TALKER)
    route(window, "#/overview", "return true;", "the overview")
    window.d.execute_script("document.activeElement && document.activeElement.blur();")

    chord(window.d, Keys.ALT, "2")
    wait_for("the Containers view, its heading focused", lambda: (focused(window.d) or {}).get("tag") == "h1"
             and "Containers" in focused(window.d)["text"], 15)
    press(window.d, "/")
    wait_for("the filter focused", lambda: "Filter containers" in (focused(window.d) or {}).get("label", ""), 5)
    press(window.d, walker)
    wait_for(f"the table filtered to {walker}", lambda: window.d.execute_script(
        "return [...document.querySelectorAll('table[aria-label=Containers] tbody a')].map(a => a.innerText.trim())"
        ".filter(t => t).join(',') === arguments[0];", walker), 15)
    for _ in range(15):
        press(window.d, Keys.TAB)
        f = focused(window.d)
        assert f and f["visible"], f"no visible focus on {describe(f)}"
        if f["tag"] == "a" and f["text"] == walker:
            break
    else:
        raise AssertionError(f"Tab never reached the link of {walker}")
    press(window.d, Keys.ENTER)
    wait_for(f"the detail of {walker}, its heading focused",
             lambda: (focused(window.d) or {}).get("tag") == "h1" and focused(window.d)["text"] == walker, 15)

    # To the tabs (the selected one is the tab stop), then the arrow key to Logs.
    for _ in range(15):
        press(window.d, Keys.TAB)
        f = focused(window.d)
        if f and f["role"] == "tab":
            break
    else:
        raise AssertionError("Tab never reached the container's tabs")
    assert f["text"] == "Stats" and f["selected"] == "true", describe(f)
    # Stats, Events, Logs: two steps to the right.
    press(window.d, Keys.ARROW_RIGHT)
    wait_for("the Events tab selected and focused", lambda: (focused(window.d) or {}).get("text") == "Events"
             and focused(window.d)["selected"] == "true", 10)
    press(window.d, Keys.ARROW_RIGHT)
    wait_for("the Logs tab selected and focused", lambda: (focused(window.d) or {}).get("text") == "Logs"
             and focused(window.d)["selected"] == "true", 10)
    lines = wait_for("its log lines", lambda: (lambda t: t if len(t) >= 3 else None)(window.log_lines()), 20)
    assert all(re.search(r"walk line \d+", line) for line in lines), lines
    # Into the lines themselves: Tab to the log list, Home to the oldest, End back to the newest.
    for _ in range(20):
        press(window.d, Keys.TAB)
        f = focused(window.d)
        if f and f["role"] == "log":
            break
    else:
        raise AssertionError("Tab never reached the log lines")
    assert f["visible"], "no visible focus on the log lines"
    footer = lambda: window.d.execute_script("return document.querySelector('.logs .foot').innerText;")  # noqa: E731
    press(window.d, Keys.HOME)
    wait_for("following paused at the oldest line", lambda: footer().endswith("auto-scroll paused"), 5)
    press(window.d, Keys.END)
    wait_for("following again", lambda: footer().endswith("following"), 5)
    shots("keyboard-logs")

    # Back to the header's Stop button with Shift+Tab, Enter, then the confirmation with Tab and Enter.
    for _ in range(25):
        chord(window.d, Keys.SHIFT, Keys.TAB)
        f = focused(window.d)
        if f and f["tag"] == "button" and f["text"] == "Stop":
            break
    else:
        raise AssertionError("Shift+Tab never reached the Stop button")
    press(window.d, Keys.ENTER)
    dialog = window.one(CONFIRM_DIALOG, "the confirmation dialog")
    assert walker in dialog.text, dialog.text
    assert focused(window.d)["text"] == "Cancel", "the dialog should start on Cancel"
    press(window.d, Keys.TAB)
    assert focused(window.d)["text"] == "Stop", describe(focused(window.d))
    press(window.d, Keys.ENTER)
    wait_for("docker to say the container stopped", lambda: not docker.running(walker), 30)
    wait_for("the window to show it exited", lambda: "exited" in window.body_text().lower(), 15)
