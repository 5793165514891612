"""Accessibility checks in the real window: axe-core (from npm, ui/node_modules/axe-core, injected over
WebDriver: nothing is fetched), the theme switch, and keyboard-only walks (Tab order, visible focus).

axe-core is a devDependency of ui/ (package.json), so `npm ci` (scripts/build-ui.sh) installs it; the window
never loads it, only this test injects it.
"""

import os

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

AXE = os.path.join(os.path.dirname(__file__), "..", "..", "ui", "node_modules", "axe-core", "axe.min.js")
# Impacts that fail the test (axe's scale: minor, moderate, serious, critical).
FAILING = ("serious", "critical")


def axe_source():
    try:
        with open(AXE, encoding="utf-8") as f:
            return f.read()
    except OSError as error:
        raise AssertionError(f"axe-core not found at {AXE}: run scripts/build-ui.sh (npm ci in ui/) first") from error


_source = {}


def run_axe(driver):
    """axe-core's WCAG 2.x A/AA and best-practice rules on the whole document; the violations (dicts with id,
    impact, help and the failing nodes' selectors and summaries)."""
    if not driver.execute_script("return !!window.axe;"):
        if "text" not in _source:
            _source["text"] = axe_source()
        driver.execute_script(_source["text"] + "\n;return !!window.axe;")
    driver.set_script_timeout(120)
    try:
        result = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ['violations'],
                               runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})
              .then(r => done({violations: r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 6).map(n => ({target: n.target.join(' '), summary: n.failureSummary, html: n.html.slice(0, 200)}))}))}),
                    e => done({error: String(e && e.stack || e)}));
            """)
    finally:
        driver.set_script_timeout(10)
    if "error" in result:
        raise AssertionError(f"axe-core failed to run: {result['error']}")
    return result["violations"]


def assert_no_serious_violations(driver, where):
    bad = [v for v in run_axe(driver) if v["impact"] in FAILING]
    if bad:
        lines = [f"axe-core: {len(bad)} serious or critical violation(s) in {where}:"]
        for v in bad:
            lines.append(f"- [{v['impact']}] {v['id']}: {v['help']}")
            for n in v["nodes"]:
                lines.append(f"    {n['target']}: {(n['summary'] or '').replace(chr(10), ' / ')}  {n['html']}")
        raise AssertionError("\n".join(lines))


def theme(driver):
    return driver.execute_script("return document.documentElement.dataset.theme;")


def set_theme(driver, wanted):
    """Presses the sidebar's theme button (system -> light -> dark -> system) until the page is `wanted`
    ("light" or "dark") by the user's choice, not the system's."""
    for _ in range(4):
        state = driver.execute_script(
            "return [document.documentElement.dataset.theme, localStorage.getItem('docktray.theme')];")
        if state == [wanted, wanted]:
            return
        driver.execute_script("document.querySelector('[data-testid=theme-button]').click();")
    raise AssertionError(f"the theme button never gave the {wanted} theme: {state}")


def reset_theme(driver):
    """Back to following the system (what the other tests and screenshots expect)."""
    for _ in range(4):
        if driver.execute_script("return localStorage.getItem('docktray.theme');") is None:
            return
        driver.execute_script("document.querySelector('[data-testid=theme-button]').click();")
    raise AssertionError("the theme button never went back to the system theme")


def press(driver, *keys):
    """Key presses sent to whatever has the focus, as a user types them."""
    ActionChains(driver).send_keys(*keys).perform()


def chord(driver, modifier, key):
    ActionChains(driver).key_down(modifier).send_keys(key).key_up(modifier).perform()


# Facts about the focused element: what it is, where it sits in document order, and whether a focus ring is
# drawn (its own outline or box-shadow, or its wrapper's while it has the focus: the log search box).
# Elements are told apart by an id kept in a WeakMap for the page's life, not by their index in the document:
# live data (a chart's loading note, its events count) adds and removes elements while the test walks.
STABLE_ID = """
const e2eId = (e) => {
  const ids = (window.__e2eIds ??= new WeakMap());
  if (!ids.has(e)) ids.set(e, (window.__e2eNext = (window.__e2eNext ?? 0) + 1));
  return ids.get(e);
};
"""

FOCUSED = STABLE_ID + """
const el = document.activeElement;
if (!el || el === document.body || el === document.documentElement) return null;
const ring = (e) => {
  const s = getComputedStyle(e);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1;
  return outline || s.boxShadow !== 'none';
};
const wrapper = el.parentElement;
const visible = ring(el) || (!!wrapper && wrapper.matches(':focus-within') && !wrapper.classList.contains('panel') && ring(wrapper));
const all = [...document.querySelectorAll('*')];
const r = el.getBoundingClientRect();
// Whether it comes after the element focused at the previous call, in the document as it is now.
const last = window.__e2eLast;
const follows = !last || !last.isConnected || last === el || !!(last.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
window.__e2eLast = el;
return {
  tag: el.tagName.toLowerCase(), role: el.getAttribute('role'), text: (el.innerText || el.value || '').trim().slice(0, 60),
  label: el.getAttribute('aria-label') || '', href: el.getAttribute('href') || '', testid: el.dataset.testid || '',
  order: all.indexOf(el), id: e2eId(el), follows, visible, onScreen: r.width > 0 && r.height > 0,
  inMain: !!el.closest('main'), inNav: !!el.closest('nav'), inDialog: !!el.closest('[role=dialog],[role=alertdialog]'),
  selected: el.getAttribute('aria-selected'),
};
"""


def focused(driver):
    return driver.execute_script(FOCUSED)


def describe(f):
    if not f:
        return "nothing"
    return f"<{f['tag']}{' role=' + f['role'] if f['role'] else ''}> {f['label'] or f['text'] or f['href']!r}"


# What a keyboard user must be able to reach in the view: every visible control, except the members of a
# roving group (tabs, radio groups), where one member is the group's tab stop and arrows move inside.
REACHABLE = STABLE_ID + """
const main = document.querySelector('main');
const sel = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea, [tabindex]:not([tabindex="-1"])';
const shown = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
return [...document.querySelectorAll(sel)].filter(shown).map(e => ({
  id: e2eId(e),
  group: (() => { const g = e.closest('[role=tablist],[role=radiogroup]'); return g ? e2eId(g) : null; })(),
  what: (e.getAttribute('aria-label') || e.innerText || e.value || e.getAttribute('href') || e.tagName).trim().slice(0, 60),
}));
"""


def tab_walk(driver, limit=250):
    """Tabs through the whole window from the top of the page (focus on the body, then Tab), recording each
    stop, until the focus comes back to the first stop or `limit` presses. Returns the stops in order."""
    # Focus the root for a moment: the next Tab starts from the top of the document, as after a page load.
    driver.execute_script("""
        const root = document.documentElement;
        root.setAttribute('tabindex', '-1');
        root.focus();
        root.removeAttribute('tabindex');
        window.__e2eLast = null;
        window.scrollTo(0, 0);
    """)
    stops = []
    for _ in range(limit):
        press(driver, Keys.TAB)
        f = focused(driver)
        if f is None:
            continue
        if stops and f["id"] == stops[0]["id"]:
            break
        stops.append(f)
    return stops


def audit_tab_order(driver, where):
    """Every control of the view is reached with Tab (a roving group by one of its members), in document order
    (sidebar, then the view), each with a visible focus ring; the first stop is the skip link."""
    wanted = driver.execute_script(REACHABLE)
    stops = tab_walk(driver, limit=len(wanted) + 20)
    problems = []
    if not stops:
        raise AssertionError(f"{where}: Tab reaches nothing")
    if stops[0]["text"] != "Skip to content":
        problems.append(f"the first Tab stop is {describe(stops[0])}, not the skip link")
    back = next((i for i in range(1, len(stops)) if not stops[i]["follows"]), None)
    if back is not None:
        problems.append(f"Tab goes backwards: {describe(stops[back - 1])} then {describe(stops[back])}")
    for s in stops:
        if not s["visible"]:
            problems.append(f"no visible focus on {describe(s)}")
    reached = {s["id"] for s in stops}
    groups_reached = set()
    for w in wanted:
        if w["id"] in reached and w["group"] is not None:
            groups_reached.add(w["group"])
    for w in wanted:
        if w["id"] in reached or (w["group"] is not None and w["group"] in groups_reached):
            continue
        problems.append(f"not reachable with Tab: {w['what']!r}")
    if problems:
        raise AssertionError(f"keyboard order in {where} ({len(stops)} stops):\n- " + "\n- ".join(problems))
    return stops
