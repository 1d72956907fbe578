"""The analytics page in Debian's Chromium (Playwright) against a real server on the demo shop:
every tab draws its chart, PNG and CSV download, no request leaves the server, no JS error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import launch_chromium, need_browser, only_local, running_server

from userops.config import Settings

from .conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def server(demo_settings: Settings, tmp_path: Path) -> Iterator[str]:
    need_browser()
    with running_server(demo_settings.data_dir, tmp_path / "server.log") as url:
        yield url


def test_analytics_tabs_in_a_browser(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    errors: list[str] = []

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(
                locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
            )
            page.route("**/*", only_local(blocked))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{server}/login")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/")
            page.click("a.nav-item[href='/analytics']")
            page.wait_for_selector("#main-chart[data-rendered=true] canvas")
            heat = page.evaluate(
                "echarts.getInstanceByDom(document.getElementById('main-chart'))"
                ".getOption().series[0].type"
            )
            assert heat == "heatmap"
            # switch the period and mode with the form
            page.select_option("select[name=period]", "month")
            page.select_option("select[name=mode]", "first_time")
            page.click("#report-form button[type=submit]")
            page.wait_for_url("**mode=first_time**")
            page.wait_for_selector("#main-chart[data-rendered=true] canvas")
            with page.expect_download() as png:
                page.click("#download-png")
            assert png.value.suggested_filename == "retention.png"
            path = tmp_path / "retention.png"
            png.value.save_as(path)
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            for tab in ("funnel", "aarrr", "channels", "magic"):
                page.goto(f"{server}/analytics?tab={tab}")
                page.wait_for_selector("#main-chart[data-rendered=true] canvas")
                if tab == "aarrr":  # the current week is drawn as partial, not like the others
                    drawn = page.evaluate(
                        "(() => { var o = echarts.getInstanceByDom(document.getElementById("
                        "'main-chart')).getOption(); var bars = o.series[0].data; return ["
                        "o.series[0].markArea.data.length, !!bars[bars.length - 1].itemStyle"
                        ".decal, typeof bars[0], o.series[2].lineStyle.type]; })()"
                    )
                    assert drawn == [1, True, "number", "dashed"]
            page.wait_for_selector("#magic-chart-0[data-rendered=true] canvas")
            assert "favorite ≥ 3" in page.inner_text(".magic-list")
        finally:
            browser.close()
    assert blocked == [], f"requests left localhost: {blocked}"
    assert errors == [], f"errors in the page: {errors}"
