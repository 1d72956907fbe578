"""The analytics page in Debian's Chromium (Playwright) against a real server on the demo shop:
every tab draws its chart, PNG and CSV download, no request leaves the server, no JS error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from userops.config import Settings

from .conftest import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
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


@pytest.fixture
def server(demo_settings: Settings, tmp_path: Path) -> Iterator[str]:
    _need_browser()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(demo_settings.data_dir), url, str(port)],
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
                pytest.fail("no /healthz in 60 s")
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


def test_analytics_tabs_in_a_browser(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import Route, sync_playwright

    blocked: list[str] = []
    errors: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(
                locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
            )
            page.route("**/*", only_local)
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
            page.wait_for_selector("#magic-chart-0[data-rendered=true] canvas")
            assert "favorite ≥ 3" in page.inner_text(".magic-list")
        finally:
            browser.close()
    assert blocked == [], f"requests left localhost: {blocked}"
    assert errors == [], f"errors in the page: {errors}"
