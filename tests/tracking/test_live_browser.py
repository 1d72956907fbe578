"""The live debugger in Debian's Chromium: events sent to the API appear without a reload
(htmx polling), and a click shows the whole payload. Nothing is fetched from elsewhere."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from tests.cli.test_server_and_cli import start_server, wait_healthy
from tests.support import free_port, launch_chromium, need_browser, only_local
from tests.tracking.test_server import write_key

pytestmark = pytest.mark.browser


def test_live_events_appear_and_open(tmp_path: Path) -> None:
    need_browser()
    from playwright.sync_api import sync_playwright

    data_dir = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port)  # admin password demo-password-1
    blocked: list[str] = []

    try:
        wait_healthy(url, server)
        key = write_key(data_dir)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                page = browser.new_page(locale="en-US")
                page.route("**/*", only_local(blocked))
                page.goto(f"{url}/live")
                page.fill("#password", "demo-password-1")
                page.click("button[type=submit]")
                page.wait_for_url(f"{url}/live")
                assert "No event received yet" in page.inner_text("#live-stats")
                sent = httpx.post(
                    f"{url}/v1/track",
                    json={
                        "userId": "u-browser",
                        "event": "Coupon Claimed",
                        "messageId": "br-1",
                        "properties": {"coupon": "NEW-20"},
                    },
                    auth=(key, ""),
                )
                assert sent.status_code == 200
                # no reload: htmx polls /live/feed every 2 s
                page.wait_for_selector("#live-events >> text=Coupon Claimed", timeout=10_000)
                assert "u-browser" in page.inner_text("#live-events")
                page.click("#live-events a:has-text('Show')")
                page.wait_for_selector("#live-payload pre", timeout=5_000)
                assert "NEW-20" in page.inner_text("#live-payload")
                assert blocked == []
            finally:
                browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
