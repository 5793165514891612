"""End-to-end: the Services view of the real app against a real Caddy (tests/e2e/caddy.sh) and the real Docker
engine. A container labelled with a domain and port is routed by Caddy and listed with its URL, container,
state and Caddy's state; a bad label is named; the URL opens through xdg-open (recorded by the stand-in of
tests/e2e/caddy.sh); the container detail shows its service. Leaves docs/screenshots/services.png.
"""

import os
import subprocess

import pytest
from conftest import RUN_ID
from selenium.webdriver.common.by import By
from ui import CSS, XPATH, Window, wait_for

PAGE = f"hello-from-{RUN_ID}"
DOMAIN = f"shop-{RUN_ID}.test"


def caddy_get(host, path="/"):
    """curl -H 'Host: HOST' through the run's Caddy: (status, body)."""
    result = subprocess.run(
        ["curl", "-s", "--max-time", "5", "-H", f"Host: {host}", "-w", "\n%{http_code}",
         f"http://127.0.0.1:{os.environ['E2E_CADDY_HTTP']}{path}"],
        capture_output=True, text=True, timeout=10)
    body, _, code = result.stdout.rpartition("\n")
    return int(code or 0), body.strip()


@pytest.fixture(scope="module")
def window(driver):
    w = Window(driver)
    w.assert_rendered()
    return w


@pytest.fixture(scope="module")
def shop(docker):
    script = f"mkdir -p /www && echo {PAGE} > /www/index.html && exec httpd -f -p 80 -h /www"
    return docker.run("shop", "--label", f"docktray.revp.domain={DOMAIN}", "--label", "docktray.revp.port=80",
                      "--label", "docktray.revp.ssl=false", cmd=["sh", "-c", script])


@pytest.fixture(scope="module")
def broken(docker):
    return docker.run("broken", "--label", "docktray.api.domain=broken.test", "--label", "docktray.api.port=eighty",
                      cmd=["sleep", "3600"])


@pytest.fixture(scope="module")
def api(docker):
    script = "mkdir -p /www/v1 && echo api > /www/v1/index.html && exec httpd -f -p 8080 -h /www"
    return docker.run("api", "--label", f"docktray.api.domain=api-{RUN_ID}.test", "--label", "docktray.api.port=8080",
                      "--label", "docktray.api.path=/v1", cmd=["sh", "-c", script])


@pytest.fixture(scope="module")
def offline(docker):
    """Labelled, but with no network: Caddy has nowhere to send its requests, and the view says why."""
    return docker.run("offline", "--network", "none", "--label", f"docktray.web.domain=offline-{RUN_ID}.test",
                      "--label", "docktray.web.port=80", cmd=["sleep", "3600"])


def service_row(window, name):
    rows = window.all([(CSS, '[data-testid="service-row"]')])
    return next((r for r in rows if name in r.text), None)


def test_services_view_lists_routes_and_problems(window, shop, api, offline, broken, shots):
    window.go("services")
    row = wait_for(f"{shop} routed in the Services view",
                   lambda: (r := service_row(window, shop)) and "routed" in r.text and r, 30)
    for expected in (f"http://{DOMAIN}/", "revp", "local", "running"):
        assert expected in row.text, f"{expected} missing from the row: {row.text!r}"
    # Caddy really routes it, and the user's own route still answers.
    assert wait_for("the page through Caddy", lambda: caddy_get(DOMAIN) == (200, PAGE), 15)
    assert caddy_get("user.test") == (200, "user page")
    caddy = window.one([(CSS, 'section[aria-label="Caddy"]')], "Caddy's status", 10)
    assert "up" in window.d.find_element(By.CSS_SELECTOR, '[data-testid="caddy-state"]').text
    assert "server main" in caddy.text
    wait_for(f"{api} routed under its path", lambda: (r := service_row(window, api)) and "routed" in r.text, 30)
    assert wait_for("the path through Caddy", lambda: caddy_get(f"api-{RUN_ID}.test", "/v1/") == (200, "api"), 15)
    failed = wait_for(f"{offline} failed with the reason",
                      lambda: (r := service_row(window, offline)) and "failed" in r.text and r, 30)
    assert "no address on a Docker network" in failed.text, failed.text
    problems = window.one([(CSS, 'ul[aria-label="Service label problems"]')], "the label problems", 20)
    wait_for("the bad port named", lambda: "label docktray.api.port" in problems.text and broken in problems.text, 20)
    shots("services")

    url = window.one([(XPATH, f'//button[@aria-label="Open http://{DOMAIN}/ in your browser"]')], "the URL button", 10)
    url.click()
    opened = wait_for("xdg-open called with the URL", lambda: _opened(), 10)
    assert opened == [f"http://{DOMAIN}/"]


def test_container_detail_shows_its_service(window, shop):
    window.go("services")
    row = wait_for("the service row", lambda: service_row(window, shop), 20)
    row.find_element(By.XPATH, f'.//a[normalize-space()="{shop}"]').click()
    section = window.one([(CSS, 'section[aria-label="Services of this container"]')], "the container's services", 20)
    wait_for("its URL and Caddy's state", lambda: f"http://{DOMAIN}/" in section.text and "routed" in section.text, 15)


def _opened():
    try:
        with open(os.environ["E2E_OPENED_LOG"]) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []
