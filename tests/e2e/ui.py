"""The window as the tests see it, every selector in one place.

Each logical element is looked up by its `data-testid` first (the stable contract with ui/, listed in
TESTIDS below), then by the ARIA roles, labels and structure the UI has today, so the test runs before and
after the test ids land. Once every test id exists, the fallbacks can go.
"""

import time

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By

CSS, XPATH = By.CSS_SELECTOR, By.XPATH


def tid(name):
    return (CSS, f'[data-testid="{name}"]')


LABELS = {"overview": "Overview", "containers": "Containers", "alerts": "Alerts", "settings": "Settings",
          "services": "Services",
          "stats": "Stats", "logs": "Logs", "info": "Info", "stop": "Stop", "start": "Start",
          "restart": "Restart", "pause": "Pause", "unpause": "Resume", "terminal": "Terminal",
          "resources": "Images & volumes", "timeline": "Timeline", "events": "Events"}


def nav(view):  # the sidebar entry of a view
    return [tid(f"nav-{view}"),
            (XPATH, f'//nav[@aria-label="Main"]//a[.//*[normalize-space()="{LABELS[view]}"]]')]


def view_root(view):  # the root of a view (today: its <h1>)
    title = {"container": None}.get(view, LABELS.get(view))
    fallback = [(XPATH, f'//main//h1[normalize-space()="{title}"]')] if title else [
        (XPATH, '//main[.//*[@role="tablist" and @aria-label="Container views"]]')]
    return [tid(f"view-{view}"), *fallback]


def container_row(name):  # a row of the container list, data-name="<container name>"
    return [(CSS, f'[data-testid="container-row"][data-name="{name}"]'),
            (XPATH, f'//table[@aria-label="Containers"]//tr[.//a[normalize-space()="{name}"]]')]


def tab(name):  # the Stats / Logs / Info tabs of the container detail
    return [tid(f"tab-{name}"), (XPATH, f'//*[@role="tab" and normalize-space()="{LABELS[name]}"]')]


def action(name):  # the labelled action buttons in the container detail header
    return [tid(f"action-{name}"),
            (XPATH, f'//header//*[contains(@class,"labelled")]//button[normalize-space()="{LABELS[name]}"]')]


CHART = [tid("chart"), (CSS, "figure.chart")]  # data-points="<n>" is read too
LOG_LINE = [tid("log-line"), (CSS, ".logs .line")]
LOG_SEARCH = [tid("log-search"), (CSS, 'input[aria-label="Search logs"]')]
CONTAINER_STATE = [tid("container-state"), (CSS, ".detail > .badges")]
CONFIRM_DIALOG = [tid("confirm-dialog"), (CSS, '[role="alertdialog"]')]
CONFIRM_ACCEPT = [tid("confirm-accept"), (XPATH, '//*[@role="alertdialog"]//button[normalize-space()!="Cancel"]')]
CONFIRM_CANCEL = [tid("confirm-cancel"), (XPATH, '//*[@role="alertdialog"]//button[normalize-space()="Cancel"]')]
LABEL_ROW = [tid("label-row"), (XPATH, '//section[h3[normalize-space()="Labels"]]//tbody/tr')]
ENV_ROW = [tid("env-row"), (XPATH, '//section[h3[normalize-space()="Environment"]]//tbody/tr')]
ENV_REVEAL = [tid("env-reveal"), (CSS, 'button[aria-label^="Show value of"]')]
ALERT_ROW = [tid("alert-row"), (XPATH, '//table[@aria-label="Active alerts" or @aria-label="Alert history"]/tbody/tr')]

# What ui/ is asked to provide (docs for the report / the UI engineer).
TESTIDS = """
nav-overview nav-containers nav-alerts nav-settings      sidebar links
view-overview view-containers view-container view-alerts view-settings   root element of each view
container-row (+ data-name="<container name>")           each row of the container list (click opens detail)
tab-stats tab-logs tab-info                              detail tabs (role=tab)
chart (+ data-points)                                    each chart figure in the Stats tab
log-line, log-search                                     each rendered log line; the log search input
container-state                                          detail header state text (running / exited ...)
action-start action-stop action-restart action-pause action-unpause   detail header buttons
confirm-dialog (role=alertdialog), confirm-accept, confirm-cancel
label-row, env-row, env-reveal                           Info tab rows; the Show button of an env row
alert-row                                                each alert in the Alerts view
"""


class Timeout(AssertionError):
    pass


def wait_for(what, predicate, timeout=20.0, interval=0.2):
    """Polls predicate() until it returns something truthy (returned); WebDriver hiccups count as falsy."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException) as error:
            last_error = error
        if time.monotonic() > deadline:
            detail = f" (last error: {getattr(last_error, 'msg', None) or last_error})" if last_error else ""
            raise Timeout(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


class Window:
    def __init__(self, driver):
        self.d = driver

    def all(self, selectors, root=None):
        """Displayed elements of the first selector that finds any."""
        for by, value in selectors:
            if root is not None and by == XPATH and value.startswith("//"):
                value = "." + value
            found = [e for e in (root or self.d).find_elements(by, value) if e.is_displayed()]
            if found:
                return found
        return []

    def one(self, selectors, what, timeout=20.0, root=None):
        return wait_for(what, lambda: next(iter(self.all(selectors, root)), None), timeout)

    def click(self, selectors, what, timeout=20.0):
        element = self.one(selectors, what, timeout)
        element.click()
        return element

    def assert_rendered(self, timeout=30.0):
        """The Svelte app mounted something; if not, re-run its entry module to report the error it throws."""
        try:
            wait_for("the window's app to render", lambda: self.d.execute_script(
                "const app = document.getElementById('app'); return app && app.children.length > 0;"), timeout)
        except Timeout:
            error = self.d.execute_async_script(
                """
                const done = arguments[arguments.length - 1];
                const entry = [...document.querySelectorAll('script[type=module]')].map(s => s.src)[0];
                if (!entry) { done('no module script in the page'); return; }
                import(entry + '?e2e-rerun').then(() => done('the entry module ran without error on a re-run'),
                                                   e => done(String(e) + '\\n' + (e.stack || '')));
                """)
            raise AssertionError(f"the window stayed blank: {error}") from None

    def texts(self, selectors):
        """innerText of the displayed elements of the first selector that finds any, read in one script, so a
        list that re-renders all the time (the virtualised logs) cannot go stale between find and read."""
        return self.d.execute_script(
            """
            for (const [by, value] of arguments[0]) {
              let nodes;
              if (by === 'xpath') {
                const found = document.evaluate(value, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
                nodes = Array.from({length: found.snapshotLength}, (_, i) => found.snapshotItem(i));
              } else {
                nodes = [...document.querySelectorAll(value)];
              }
              nodes = nodes.filter(n => n.getClientRects().length > 0);
              if (nodes.length) return nodes.map(n => n.innerText);
            }
            return [];
            """,
            [[by, value] for by, value in selectors],
        )

    def body_text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def go(self, view):
        self.click(nav(view), f"the {view} navigation entry")
        return self.one(view_root(view), f"the {view} view")

    def container_row(self, name, timeout=30.0):
        return self.one(container_row(name), f"the row of container {name}", timeout)

    def open_container(self, name):
        self.go("containers")
        row = self.container_row(name)
        links = row.find_elements(By.XPATH, f'.//a[normalize-space()="{name}"]')
        (links[0] if links else row).click()
        self.one(view_root("container"), f"the detail view of {name}")
        wait_for(f"the detail view to show {name}",
                 lambda: any(h.text.strip() == name for h in self.d.find_elements(By.CSS_SELECTOR, "main h1")))

    def tab(self, name):
        self.click(tab(name), f"the {name} tab")
        wait_for(f"the {name} tab to be selected",
                 lambda: self.one(tab(name), f"the {name} tab").get_attribute("aria-selected") == "true", 10)

    def log_lines(self):
        return self.texts(LOG_LINE)
