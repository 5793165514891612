"""End-to-end test of the timeline in the real app, on the real engine: a restart from the window is recorded as an
audit entry (source window, result ok) next to the engine's own restart event; a container that exits 3 and
one the OOM killer ends show their exit code and the OOM mark; the container's Events tab shows its own rows;
the timeline exported from the window (JSON lines, through the save dialog) is read back with the CLI's
columns. Screenshots land in docs/screenshots/.
"""

import json
import os
import tempfile

import pytest
from selenium.webdriver.common.by import By
from ui import CONFIRM_ACCEPT, CSS, XPATH, Timeout, Window, action, wait_for

TIMELINE = (CSS, 'table[aria-label="Timeline of all hosts"]')
CONTAINER_FILTER = [(CSS, 'input[aria-label="Filter by container name or id"]')]
SEARCH = [(CSS, 'input[aria-label="Search the timeline"]')]
EXPORT = [(XPATH, '//main//button[normalize-space()="Export…"]')]
DIALOG = [(CSS, '[data-testid="export-dialog"]')]


@pytest.fixture(scope="module")
def window(driver):
    w = Window(driver)
    w.assert_rendered()
    return w


def rows(window, table=TIMELINE):
    """The table's rows as (kind, text) pairs, newest first."""
    return [(r.get_attribute("data-kind"), r.text.replace("\n", " "))
            for r in window.d.find_elements(table[0], f"{table[1]} tbody tr[data-kind]")]


def set_path(window, text):
    """Fills the export dialog's file name. Not with send_keys: Selenium uploads an existing file it is given."""
    box = window.one([(CSS, '[data-testid="export-dialog"] input[type="text"]')], "the file name")
    window.d.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        box, text)


def type_into(window, selectors, what, text):
    box = window.one(selectors, what)
    box.clear()
    box.send_keys(text)


def test_window_restart_is_audited_and_the_timeline_exports(window, docker, shots):
    acted = docker.run("tl-acted", cmd=["sleep", "3600"])
    three = docker.run("tl-exit3", cmd=["sh", "-c", "sleep 1; exit 3"])
    hog = docker.run("tl-oom", "--memory", "16m", "--memory-swap", "16m",
                     cmd=["sh", "-c", "sleep 1; x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"])

    # The restart, from the container's page.
    window.open_container(acted)
    window.click(action("restart"), "the Restart button")
    window.click(CONFIRM_ACCEPT, "the confirmation of the restart")

    # The Timeline view, narrowed to this run's containers by the search box.
    window.go("timeline")
    prefix = docker.name("tl-")
    type_into(window, SEARCH, "the timeline's search box", prefix)

    def shown():
        found = rows(window)
        texts = " | ".join(text for _, text in found)
        audit = any(k == "audit" and acted in t and "action: restart" in t and "by window: ok" in t for k, t in found)
        restarted = any(k == "restart" and acted in t for k, t in found)
        exit3 = any(k == "die" and three in t and "exit 3" in t for k, t in found)
        oom = any(k == "die" and hog in t and "Out of memory" in t and "exit 137" in t for k, t in found)
        return (audit and restarted and exit3 and oom) and texts

    try:
        wait_for("the audit entry, the restart, the exit code and the OOM kill in the timeline", shown, 60)
    except Timeout as error:
        raise AssertionError(f"{error}; shown: {rows(window)}") from error
    table = window.one([TIMELINE], "the timeline table")
    oom_rows = table.find_elements(By.CSS_SELECTOR, 'tbody tr[data-oom="true"]')
    assert oom_rows and all(hog in r.text for r in oom_rows), [r.text for r in oom_rows]
    assert not any(three in r.text or acted in r.text for r in oom_rows), "only the OOM kill is marked OOM"
    shots("timeline")

    # The export of what is shown, as JSON lines, to a file the test reads back.
    folder = tempfile.mkdtemp(prefix="docktray-e2e-export-")
    path = os.path.join(folder, "timeline.jsonl")
    window.click(EXPORT, "the timeline's Export button")
    dialog = window.one(DIALOG, "the export dialog")
    dialog.find_element(By.CSS_SELECTOR, 'input[type="radio"][value="jsonl"]').click()
    proposed = dialog.find_element(By.CSS_SELECTOR, 'input[type="text"]').get_attribute("value")
    assert proposed.endswith(".jsonl"), proposed
    shots("timeline-export")
    set_path(window, path)
    dialog.find_element(By.XPATH, './/button[normalize-space()="Save"]').click()
    wait_for("the dialog to close", lambda: not window.all(DIALOG), 20)
    with open(path, encoding="utf-8") as f:
        exported = [json.loads(line) for line in f if line.strip()]
    assert exported and all(prefix in json.dumps(r) for r in exported), exported
    columns = ["time", "host", "container", "kind", "object", "id", "exit_code", "oom", "signal", "health",
               "source", "actor", "action", "result", "error"]
    assert all(list(r.keys()) == columns for r in exported), exported[0]
    assert any(r["kind"] == "audit" and r["container"] == acted and r["source"] == "window"
               and r["action"] == "restart" and r["result"] == "ok" for r in exported), exported
    assert any(r["kind"] == "die" and r["container"] == three and r["exit_code"] == 3 and r["oom"] is False
               for r in exported), exported
    assert any(r["kind"] == "die" and r["container"] == hog and r["oom"] is True for r in exported), exported

    # An export never replaces a file: the dialog says so and stays open.
    window.click(EXPORT, "the timeline's Export button")
    set_path(window, path)
    window.one(DIALOG, "the export dialog").find_element(By.XPATH, './/button[normalize-space()="Save"]').click()
    wait_for("the refusal to replace the file",
             lambda: "already exists" in window.one(DIALOG, "the export dialog").text, 20)
    window.one(DIALOG, "the export dialog").find_element(By.XPATH, './/button[normalize-space()="Cancel"]').click()

    # The container's own Events tab.
    window.open_container(three)
    window.tab("events")
    own = (CSS, f'table[aria-label="Events of {three}"]')
    wait_for("the exit code on the container's Events tab",
             lambda: any(k == "die" and "exit 3" in t for k, t in rows(window, own)), 30)
    assert all(acted not in t and hog not in t for _, t in rows(window, own))
    shots("container-events")

    # The OOM kill as a marker on the container's history charts.
    window.open_container(hog)
    window.tab("stats")
    charts = [(CSS, "figure.chart")]
    wait_for("an event marker on the charts",
             lambda: any(int(f.get_attribute("data-markers") or 0) > 0 for f in window.all(charts)), 30)
    labels = [f.get_attribute("aria-label") for f in window.all(charts)]
    assert any("OUT OF MEMORY" in (label or "") for label in labels), labels

    # The restarted container's charts (samples around the restart) with its events on the time axis.
    window.open_container(acted)
    window.tab("stats")
    wait_for("the restart marked on the charts",
             lambda: any(int(f.get_attribute("data-markers") or 0) > 0 for f in window.all(charts)), 30)
    shots("chart-markers")
