"""End-to-end test of the container workbench in the real app (after test_desktop.py, in the same window): a
Terminal tab into a container on the real engine (typing, resizing, UTF-8), and the images view refusing to
remove an image a container uses. Screenshots land in docs/screenshots/.
"""

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from ui import CSS, CONFIRM_ACCEPT, CONFIRM_DIALOG, Window, tid, wait_for

TERMINAL = [tid("terminal")]
TERMINAL_STATUS = [tid("terminal-status")]
UTF8 = "grüße-✓"


@pytest.fixture(scope="module")
def window(driver):
    w = Window(driver)
    w.assert_rendered()
    return w


@pytest.fixture(scope="module")
def shell_box(docker):
    return docker.run("shellbox", cmd=["sleep", "3600"])


def screen_lines(window):
    """The terminal's rows as text (xterm's DOM renderer: one element per row)."""
    return [line.replace("\xa0", " ").rstrip() for line in window.d.execute_script(
        "return [...document.querySelectorAll('[data-testid=terminal] .xterm-rows > div')].map(r => r.textContent);")]


def status(window):
    return " ".join(window.texts(TERMINAL_STATUS))


def disk_usage(window):
    return " ".join(window.texts([tid("docker-disk")]))


def terminal_size(window):
    element = window.one(TERMINAL, "the terminal")
    return int(element.get_attribute("data-cols") or 0), int(element.get_attribute("data-rows") or 0)


def at_prompt(window):
    """The shell waits for input: its prompt is the last line on screen (typing earlier races its start-up)."""
    lines = [line for line in screen_lines(window) if line.strip()]
    return bool(lines) and lines[-1].endswith("#")


def settled_prompt(window):
    """At its prompt and still there a moment later. As the prompt appears, busybox's line editor asks the terminal
    for the cursor position and reads the answer, which makes the round trip through the app: keys typed inside
    that moment were seen lost (the shell ran "e-✓ | wc -c; ..." of "echo grüße-✓ | wc -c; ...")."""
    if not at_prompt(window):
        return False
    time.sleep(0.3)
    return at_prompt(window)


def typed_in(window, text):
    """The shell shows the end of `text` on its input line: it has taken every key of it (its line editor echoes
    them, in order). Only the end is compared: busybox's line editor counts a multi-byte character as several
    columns, so when it redraws a line holding UTF-8 its start comes out overwritten on screen (seen: "e-✓ | wc
    -c; echo grüße-✓") while the line it runs is intact, as the command's output then shows."""
    lines = [line for line in screen_lines(window) if line.strip()]
    return bool(lines) and lines[-1].endswith(text[-12:])


def type_line(window, text):
    """Types a command and presses Enter only once the shell has echoed all of it. Keys sent before the shell
    is back at its prompt (while the previous command runs, or before a late resize's redraw) are typeahead:
    the tty echoes them, busybox's line editor then asks the terminal for the cursor position (ESC [6n) and the
    terminal's answer can land in the middle of them, so a command typed ahead was seen to come out mangled."""
    wait_for("the shell's prompt", lambda: settled_prompt(window), 15)
    box = window.d.find_element(By.CSS_SELECTOR, "[data-testid=terminal] textarea.xterm-helper-textarea")
    box.send_keys(text)
    wait_for(f"the shell to echo {text!r}", lambda: typed_in(window, text), 15)
    box.send_keys(Keys.ENTER)
    # The command has been taken when its line is no longer the one being edited.
    wait_for(f"the shell to run {text!r}", lambda: not typed_in(window, text), 15)


def stable_size(window):
    """The terminal's size once it stayed the same for a second (a window resize reaches xterm in steps)."""
    last, since = None, time.time()
    deadline = time.time() + 15
    while time.time() < deadline:
        size = terminal_size(window)
        if size != last:
            last, since = size, time.time()
        elif time.time() - since >= 1.0:
            return size
        time.sleep(0.1)
    raise AssertionError(f"the terminal's size never settled (last {last})")


def test_terminal_tab_runs_commands_resizes_and_keeps_utf8(window, shell_box, shots):
    window.open_container(shell_box)
    window.tab("terminal")
    # The busybox test image has no bash: the automatic pick falls back to sh.
    wait_for("the terminal to connect with sh", lambda: "Connected: sh" in status(window), 30)
    window.one(TERMINAL, "the terminal").click()

    type_line(window, "echo $((6*7))")
    wait_for("42 in the terminal", lambda: "42" in screen_lines(window), 15)

    cols, rows = terminal_size(window)
    type_line(window, "stty size")
    wait_for(f"stty size to say {rows} {cols}", lambda: f"{rows} {cols}" in screen_lines(window), 15)

    size = window.d.get_window_size()
    window.d.set_window_size(size["width"] - 240, size["height"] - 160)
    try:
        new_cols, new_rows = wait_for("the terminal to fit the smaller window", lambda: (
            lambda s: s if s != (cols, rows) and s[0] > 0 else None)(terminal_size(window)), 15)
        time.sleep(0.5)  # the resize reaches the container after a short debounce
        type_line(window, "clear; stty size")
        wait_for(f"stty size to say {new_rows} {new_cols}", lambda: f"{new_rows} {new_cols}" in screen_lines(window), 15)
    finally:
        window.d.set_window_size(size["width"], size["height"])
    wait_for("the terminal to fit the window again", lambda: terminal_size(window) == (cols, rows), 15)
    assert stable_size(window) == (cols, rows), "the terminal's size moved again after the window was restored"
    # The container has the size back before anything else is typed (a resize while typing makes the shell
    # redraw its line).
    type_line(window, "clear; stty size")
    wait_for(f"stty size to say {rows} {cols} again", lambda: f"{rows} {cols}" in screen_lines(window), 15)

    # UTF-8 typed in arrives intact (12 bytes with the newline) and comes back as typed.
    type_line(window, "clear")
    type_line(window, f"echo {UTF8} | wc -c; echo {UTF8}")
    wait_for("the UTF-8 text back, byte count and all",
             lambda: "12" in screen_lines(window) and UTF8 in screen_lines(window), 15)
    type_line(window, "printf '\\033[32mready\\033[0m\\n'")
    wait_for("coloured output", lambda: "ready" in screen_lines(window), 15)
    shots("container-terminal")

    # The session ends cleanly when the shell exits.
    type_line(window, "exit 4")
    wait_for("the end of the session", lambda: "exited with status 4" in status(window), 15)


def test_images_view_refuses_removing_a_used_image_naming_the_container(window, docker, shots):
    image = f"{docker.name('img')}:1"
    builder = docker.name("imgsrc")
    docker("run", "--label", "docktray.test=1", "--name", builder, docker.image, "sh", "-c", "echo made > /made")
    docker("commit", builder, image)
    docker("rm", "-f", builder)
    user = docker.name("imguser")
    docker("create", "--label", "docktray.test=1", "--name", user, image)
    docker.created.append(user)
    image_id = docker("image", "inspect", "-f", "{{.Id}}", image)
    try:
        window.go("resources")
        row = window.one([(CSS, f'[data-testid="image-row"][data-id="{image_id}"]')], "the image's row", 30)
        assert user in row.text, row.text
        row.find_element(By.XPATH, './/button[starts-with(@aria-label, "Remove image")]').click()
        dialog = window.one(CONFIRM_DIALOG, "the confirmation")
        assert "from local" in dialog.text and user in dialog.text, dialog.text
        window.click(CONFIRM_ACCEPT, "Remove")
        refusal = window.one([tid("refusal")], "the refusal")
        assert f"is used by container {user}" in refusal.text, refusal.text
        assert docker("image", "inspect", "-f", "{{.Id}}", image) == image_id, "the image must still be there"
        wait_for("the disk usage", lambda: "could be freed" in disk_usage(window) or "Nothing to reclaim" in disk_usage(window), 30)
        shots("images")
    finally:
        docker("rm", "-f", user, check=False)
        docker("rmi", "-f", image, check=False)
