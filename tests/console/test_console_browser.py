"""The console in Debian's Chromium (Playwright) against a real server process.

Nothing may be fetched from anywhere but the server itself: every other request is blocked and
counted. Needs /usr/bin/chromium (``apt-get install chromium``); never ``playwright install``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from userops.config import Settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
LAUNCHER = """
import sys
import uvicorn
from userops.config import Settings
from userops.server import create_app
data_dir, url, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app(Settings(data_dir=data_dir), public_url=url)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _need_browser() -> None:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed"
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path, make_data_dir: Callable[[Path], Settings]) -> Iterator[str]:
    """A userops server in its own process; yields its base URL."""
    _need_browser()
    settings = make_data_dir(tmp_path / "data")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(settings.data_dir), url, str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {(tmp_path / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no /healthz in 60 s: {(tmp_path / 'server.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_console_in_a_browser(server: str, admin_password: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    blocked: list[str] = []
    errors: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
            page.route("**/*", only_local)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

            # Signed out: the console sends us to the sign-in page.
            page.goto(f"{server}/")
            assert urlsplit(page.url).path == "/login"
            page.fill("#password", admin_password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/")

            # The overview: KPI cards and two drawn charts.
            page.wait_for_selector("#chart-new-customers[data-rendered=true] canvas")
            page.wait_for_selector("#chart-gmv[data-rendered=true] canvas")
            assert page.inner_text("#kpi-customers .value") == "3"
            assert page.inner_text("#kpi-orders .value") == "2"
            assert page.inner_text("#kpi-gmv .value") == "¥350.50"
            assert page.inner_text("#kpi-aov .value") == "¥175.25"
            gmv = page.evaluate(
                "echarts.getInstanceByDom(document.getElementById('chart-gmv'))"
                ".getOption().series[0].data"
            )
            assert len(gmv) == 90
            assert gmv[-2:] == [100, 250.5]
            signups = page.evaluate(
                "echarts.getInstanceByDom(document.getElementById('chart-new-customers'))"
                ".getOption().series[0].data.length"
            )
            assert signups > 0
            assert "概览" in page.inner_text("nav")

            # Live search (htmx) finds a customer by phone; the 360 page masks the phone.
            page.click("a.nav-item[href='/customers']")
            page.wait_for_selector("#results a[href='/customers/c2']")  # latest signups
            page.fill("#customer-query", "13800000001")
            page.wait_for_selector("#results h2:text('搜索结果')")
            page.wait_for_selector("#results a[href='/customers/c1']")
            assert page.locator("#results a[href='/customers/c2']").count() == 0
            assert "query=13800000001" in page.url
            page.click("#results a[href='/customers/c1']")
            page.wait_for_selector("#contact-points")
            assert "138****0001" in page.inner_text("#contact-points")
            assert "o-1001" in page.inner_text("#recent-orders")

            # Switching the language keeps the page and changes the labels.
            page.click(".topbar .lang-switch a[hreflang=en]")
            page.wait_for_selector("html[lang=en]")
            assert urlsplit(page.url).path == "/customers/c1"
            assert "Customer 360" in page.inner_text("h1")
            page.click("a.nav-item[href='/']")
            page.wait_for_selector("#chart-gmv[data-rendered=true] canvas")
            nav = page.inner_text("nav")
            assert "Overview" in nav and "coming soon" in nav
            assert page.inner_text("#kpi-aov h2") == "Average order value"
        finally:
            browser.close()

    assert blocked == [], f"requests left localhost: {blocked}"
    assert errors == [], f"errors in the page: {errors}"
