"""The console in Debian's Chromium (Playwright) against a real server process.

Nothing may be fetched from anywhere but the server itself: every other request is blocked and
counted. Needs /usr/bin/chromium (``apt-get install chromium``); never ``playwright install``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.support import launch_chromium, need_browser, only_local, running_server

from userops.config import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, make_data_dir: Callable[[Path], Settings]) -> Iterator[str]:
    """A userops server in its own process; yields its base URL."""
    need_browser()
    settings = make_data_dir(tmp_path / "data")
    with running_server(settings.data_dir, tmp_path / "server.log") as url:
        yield url


def test_console_in_a_browser(server: str, admin_password: str) -> None:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    errors: list[str] = []

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
            page.route("**/*", only_local(blocked))
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
