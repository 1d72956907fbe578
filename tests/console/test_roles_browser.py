"""Roles in Debian's Chromium against a real server process, in zh-CN and en: an analyst who
tries to refresh tags gets the 403 page naming the roles that may; a service agent's reveal of a
phone number is shown once and appears in the audit page an admin reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support import launch_chromium, need_browser, only_local, running_server

from userops.auth import service as auth
from userops.config import Settings
from userops.ledger import engine_from, unit_of_work

pytestmark = pytest.mark.browser
PASSWORD = "browser-role-pass"

TEXT = {
    "zh-CN": {
        "forbidden": "无权操作",
        "needs": "你的角色无权刷新标签",
        "roles": ("所有者", "管理员", "运营"),
        "yours": "分析师",
        "reveal": "查看完整",
        "action": "查看完整联系方式",
    },
    "en": {
        "forbidden": "Not allowed",
        "needs": "Your role may not refresh tags",
        "roles": ("Owner", "Admin", "Operator"),
        "yours": "Analyst",
        "reveal": "Reveal",
        "action": "Revealed contact",
    },
}


@pytest.fixture
def server(tmp_path: Path, make_data_dir: Callable[[Path], Settings]) -> Iterator[str]:
    need_browser()
    settings = make_data_dir(tmp_path / "data")
    engine = engine_from(settings)
    with unit_of_work(engine) as session:
        for name, role in (("ana", "analyst"), ("sam", "service_agent")):
            auth.add_user(session, username=name, role=role, password=PASSWORD)
    engine.dispose()
    with running_server(settings.data_dir, tmp_path / "server.log") as url:
        yield url


def _sign_in(page, server: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_roles_in_the_browser(server: str, admin_password: str, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    text = TEXT[lang]
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(locale=lang, extra_http_headers={"Accept-Language": lang})
            page.route("**/*", only_local(blocked))

            # The analyst sees the tags page but may not refresh: the 403 page names the roles.
            _sign_in(page, server, "ana", PASSWORD)
            page.goto(f"{server}/tags")
            assert page.locator("a.nav-item[href='/users']").count() == 0
            with page.expect_response(lambda r: r.url.endswith("/tags/refresh")) as answer:
                page.click("#refresh-form button")
            assert answer.value.status == 403
            page.wait_for_selector("#forbidden")
            assert page.inner_text("h1") == text["forbidden"]
            body = page.inner_text("#forbidden")
            assert text["needs"] in body
            badges = page.locator(".roles-needed .badge").all_inner_texts()
            assert badges == list(text["roles"])
            assert text["yours"] in body
            _sign_out(page)

            # The service agent starts at customers; the phone is masked until revealed.
            _sign_in(page, server, "sam", PASSWORD)
            assert page.url.endswith("/customers")
            assert page.locator("a.nav-item[href='/tags']").count() == 0
            page.goto(f"{server}/customers/c1")
            masked = page.inner_text("#contact-points dd[data-kind=phone]")
            assert "13800000001" not in masked and "138****0001" in masked
            assert page.locator("#erase").count() == 0  # no erase for a service agent
            page.click("button[data-reveal=phone]")
            page.wait_for_selector("#contact-points dd.revealed[data-kind=phone]")
            assert "13800000001" in page.inner_text("#contact-points dd[data-kind=phone]")
            # the email stays masked
            assert "zhang.san@example.com" not in page.inner_text("#contact-points")
            # the audit page is not the agent's
            assert page.goto(f"{server}/audit").status == 403  # type: ignore[union-attr]
            _sign_out(page)

            # The admin finds the reveal in the audit log, by action and by actor.
            _sign_in(page, server, "admin", admin_password)
            page.click("a.nav-item[href='/audit']")
            page.select_option("select[name=action]", "customer.reveal")
            page.fill("input[name=actor]", "sam")
            page.click("#audit-filters button[type=submit]")
            page.wait_for_selector("#audit-list tr[data-action='customer.reveal']")
            row = page.inner_text("#audit-list tr[data-action='customer.reveal']")
            assert "sam" in row and "c1" in row and text["action"] in row
            assert '"kind": "phone"' in row or '"kind":"phone"' in row
            assert "13800000001" not in page.content()
            rows = page.locator("#audit-list tbody tr").count()
            assert rows == 1
            # the analyst's refused attempt changed nothing, so it is not an entry
            page.goto(f"{server}/audit?action=tags.refresh")
            assert page.locator("#audit-list tr[data-action='tags.refresh']").count() == 0
        finally:
            browser.close()
    assert blocked == []
