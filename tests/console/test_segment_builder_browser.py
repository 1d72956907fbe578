"""The segment builder and the customer system charts in Debian's Chromium (Playwright), against
a real server process. Needs /usr/bin/chromium; never ``playwright install``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.console.conftest import PASSWORD
from tests.console.test_customer_system_pages import PROVINCE, build_shop
from tests.support import launch_chromium, need_browser, only_local, running_server

from userops.hub import connect
from userops.tags import service as tags

pytestmark = pytest.mark.browser


@pytest.fixture
def shop_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """A server on the customer-system shop; yields its URL and the counts the test expects."""
    need_browser()
    settings = build_shop(tmp_path / "data")
    with connect(settings) as hub:  # before the server owns the warehouse
        lifecycle = {c: tags.show(hub.warehouse, c).tags.get("lifecycle", []) for c in PROVINCE}
        families = {f for f, values in tags.counts(hub.warehouse).items() if values}
    expected = {
        "silent": sum("silent" in v for v in lifecycle.values()),
        "silent_gd": sum("silent" in v and PROVINCE[c] == "广东省" for c, v in lifecycle.items()),
        "families": len(families),
    }
    with running_server(settings.data_dir, tmp_path / "server.log") as url:
        yield url, expected


def test_build_a_segment_and_see_the_charts(shop_server: tuple[str, dict[str, int]]) -> None:
    from playwright.sync_api import sync_playwright

    server, expected = shop_server
    assert 0 < expected["silent_gd"] < expected["silent"]  # the second condition narrows
    blocked: list[str] = []
    errors: list[str] = []

    def count_is(page: object, n: int) -> None:
        page.wait_for_function(  # type: ignore[attr-defined]
            "n => { const el = document.getElementById('preview-count');"
            " return el && el.textContent.trim() === String(n); }",
            arg=n,
        )

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
            page.route("**/*", only_local(blocked))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(f"{server}/login?next=/segments/new")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/segments/new")

            # Condition 1: tag · lifecycle · equals · silent (the defaults, then the value).
            page.click("#builder .b-group-foot .b-add-condition")
            first = page.locator("#builder .b-cond").nth(0)
            assert first.locator("select.c-type").input_value() == "tag"
            assert first.locator("select.c-field").input_value() == "lifecycle"
            first.locator("select.c-value").select_option("silent")
            count_is(page, expected["silent"])

            # Condition 2: attribute · province · equals · 广东省.
            page.click("#builder .b-group-foot .b-add-condition")
            second = page.locator("#builder .b-cond").nth(1)
            second.locator("select.c-type").select_option("attr")
            second = page.locator("#builder .b-cond").nth(1)
            second.locator("select.c-field").select_option("province")
            second = page.locator("#builder .b-cond").nth(1)
            assert second.locator("select.c-op").input_value() == "eq"
            second.locator("input.c-value").fill("广东省")
            count_is(page, expected["silent_gd"])
            assert page.locator("#preview .sample li").count() == expected["silent_gd"]

            # A bad value is reported with the node it belongs to, and fixed again.
            # ("is one of" with nothing ticked).
            page.locator("#builder .b-cond").nth(0).locator("select.c-op").select_option("in")
            page.wait_for_selector("#preview .preview-error")
            assert page.inner_text("#preview .error-path") == "all[0]"
            page.wait_for_selector("#builder .b-cond.has-error[data-path='all[0]']")
            page.locator("#builder .b-cond").nth(0).locator("input[value=silent]").check()
            count_is(page, expected["silent_gd"])
            assert page.locator("#builder .has-error").count() == 0

            # The JSON view shows the rule.
            page.click("#json-toggle summary")
            rule = page.input_value("#rule-json")
            assert '"lifecycle"' in rule and '"province"' in rule and '"广东省"' in rule

            # Save, and see it in the list with its size.
            page.fill("#segment-name", "gd-silent")
            page.fill("#segment-description", "广东沉默客户")
            page.click("#save-segment")
            page.wait_for_url(f"{server}/segments?saved=gd-silent")
            row = page.locator("tr[data-segment='gd-silent']")
            assert row.locator(".segment-size").inner_text().split()[0] == str(
                expected["silent_gd"]
            )

            # Editing loads the rule back into the builder.
            row.locator("a.segment-name").click()
            page.wait_for_selector("#builder .b-cond >> nth=1")
            assert page.locator("#builder .b-cond").count() == 2
            assert page.locator("#builder .b-cond").nth(1).locator(
                "input.c-value"
            ).input_value() == ("广东省")
            count_is(page, expected["silent_gd"])

            # The customer system page draws every family that has values, and the transitions.
            page.click("a.nav-item[href='/tags']")
            page.wait_for_selector("#chart-transitions[data-rendered=true] canvas")
            page.wait_for_function(
                "n => document.querySelectorAll('.tag-charts [data-rendered=true] canvas')"
                ".length === n",
                arg=expected["families"],
            )
            lifecycle = page.evaluate(
                "echarts.getInstanceByDom(document.getElementById('chart-tag-lifecycle'))"
                ".getOption().series[0].data.map(d => d.value)"
            )
            assert sum(lifecycle) == len(PROVINCE)
            assert "重要" in page.inner_text("#rfm-grid")
        finally:
            browser.close()

    assert blocked == [], f"requests left localhost: {blocked}"
    assert errors == [], f"errors in the page: {errors}"
