"""Console sessions through the whole server app (TestClient): sign-in throttling per account
and per client address, sessions that end on sign-out and on a password change, and the
``Secure`` cookie over HTTPS. Ledger tables, so every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from userops.auth.service import create_admin
from userops.cli.main import app as cli_app
from userops.config import Settings
from userops.ledger import engine_from, migrate, unit_of_work
from userops.server import create_app

PASSWORD = "right-password-1"
OPS_PASSWORD = "ops-password-22"
COOKIE = "userops_session"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MAX_FAILURES = 3
LOCKOUT = 60


class Browser:
    """One browser's cookie, sent explicitly so several browsers can share one TestClient."""

    def __init__(self, client: TestClient, *, forwarded_for: str | None = None) -> None:
        self.client = client
        self.cookie: str | None = None
        self.headers = {"accept": "text/html"}
        if forwarded_for:
            self.headers["x-forwarded-for"] = forwarded_for

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.client.cookies.clear()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if self.cookie:
            headers["cookie"] = f"{COOKIE}={self.cookie}"
        response = self.client.request(
            method, path, headers=headers, follow_redirects=False, **kwargs
        )
        for header in response.headers.get_list("set-cookie"):
            if header.startswith(f"{COOKIE}="):
                expired = "expires=thu, 01 jan 1970" in header.lower()
                self.cookie = None if expired else header.split(";")[0].split("=", 1)[1]
        return response

    def csrf(self, path: str) -> str:
        page = self.request("GET", path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, f"no CSRF field on {path}: {page.status_code}"
        return found.group(1)

    def sign_in(self, password: str, *, username: str = "admin") -> httpx.Response:
        data = {"username": username, "password": password, "csrf": self.csrf("/login")}
        return self.request("POST", "/login", data=data)

    def signed_in(self) -> bool:
        response = self.request("GET", "/")
        assert response.status_code in (200, 303), response.text
        return response.status_code == 200


def at(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Freeze the server's clock (``USEROPS_NOW``) ``seconds`` after T0."""
    monkeypatch.setenv("USEROPS_NOW", (T0 + timedelta(seconds=seconds)).isoformat())


@pytest.fixture
def shop(settings: Settings) -> Settings:
    """Two admins on an empty shop; three failures lock for 60 s, doubling after that."""
    configured = Settings(
        data_dir=settings.data_dir,
        ledger_url=settings.ledger_url,
        login_max_failures=MAX_FAILURES,
        login_lockout_seconds=LOCKOUT,
        login_lockout_max_seconds=3600,
        trusted_proxies=["testclient"],  # TestClient's peer plays the reverse proxy
    )
    engine = engine_from(configured)
    migrate(engine)
    with unit_of_work(engine) as session:
        create_admin(session, username="admin", password=PASSWORD)
        create_admin(session, username="ops", password=OPS_PASSWORD)
    engine.dispose()
    return configured


@contextmanager
def serving(shop: Settings, **overrides: Any) -> Iterator[TestClient]:
    with TestClient(create_app(shop.model_copy(update=overrides))) as client:
        yield client


@pytest.fixture
def client(shop: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    at(monkeypatch, 0)
    with serving(shop) as opened:
        yield opened


# Throttling


def test_after_n_failures_even_the_right_password_gets_429_until_the_backoff_passes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: three wrong passwords; the third one locks the account and the address for 60 s
    browser = Browser(client)
    codes = [browser.sign_in("wrong-password").status_code for _ in range(MAX_FAILURES)]
    assert codes == [401] * MAX_FAILURES
    # when: the right password comes next, and again 59 s later
    refused = browser.sign_in(PASSWORD)
    at(monkeypatch, LOCKOUT - 1)
    still_refused = browser.sign_in(PASSWORD)
    # then: refused with 429 and how long to wait, and nobody is signed in
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(LOCKOUT)
    assert "登录失败次数过多" in refused.text
    assert still_refused.status_code == 429
    assert still_refused.headers["retry-after"] == "1"
    assert not browser.signed_in()
    # and once the 60 s have passed, the right password signs in
    at(monkeypatch, LOCKOUT)
    assert browser.sign_in(PASSWORD).status_code == 303
    assert browser.signed_in()


def test_each_further_failure_doubles_the_lockout(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = Browser(client)
    for _ in range(MAX_FAILURES):
        browser.sign_in("wrong-password")
    # when: the first lockout passes and the next attempt is wrong again
    at(monkeypatch, LOCKOUT)
    fourth = browser.sign_in("wrong-password")
    # then: this failure locks for 2 × 60 s
    assert fourth.status_code == 401
    assert fourth.headers["retry-after"] == str(2 * LOCKOUT)
    at(monkeypatch, LOCKOUT + 2 * LOCKOUT - 1)
    assert browser.sign_in(PASSWORD).status_code == 429
    at(monkeypatch, LOCKOUT + 2 * LOCKOUT)
    assert browser.sign_in(PASSWORD).status_code == 303


def test_a_success_clears_the_count(client: TestClient) -> None:
    browser = Browser(client)
    for _ in range(MAX_FAILURES - 1):
        assert browser.sign_in("wrong-password").status_code == 401
    assert browser.sign_in(PASSWORD).status_code == 303
    later = Browser(client)
    for _ in range(MAX_FAILURES - 1):
        assert later.sign_in("wrong-password").status_code == 401
    assert later.sign_in(PASSWORD).status_code == 303


def test_one_address_trying_many_accounts_is_locked_out(client: TestClient) -> None:
    # given: one client address fails once each on three different (unknown) account names
    attacker = Browser(client, forwarded_for="203.0.113.7")
    for name in ("root", "test", "shop"):
        assert attacker.sign_in("guess-123", username=name).status_code == 401
    # then: that address is locked, even for the right password of an unlocked account
    assert attacker.sign_in(PASSWORD).status_code == 429
    # while the same account from another address signs in
    assert Browser(client, forwarded_for="198.51.100.20").sign_in(PASSWORD).status_code == 303


def test_one_account_tried_from_many_addresses_is_locked_out(client: TestClient) -> None:
    for n in range(MAX_FAILURES):
        Browser(client, forwarded_for=f"203.0.113.{n + 1}").sign_in("guess-123")
    # the account is locked wherever the next attempt comes from, names compared case-folded
    fresh = Browser(client, forwarded_for="198.51.100.20")
    assert fresh.sign_in(PASSWORD, username="Admin").status_code == 429
    assert fresh.sign_in(PASSWORD).status_code == 429
    # and another account is not
    assert fresh.sign_in(OPS_PASSWORD, username="ops").status_code == 303


def test_forwarded_for_from_an_untrusted_peer_does_not_evade_the_address_lock(
    shop: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, 0)
    with serving(shop, trusted_proxies=[]) as client:
        # given: an attacker rotating X-Forwarded-For, straight to the server (no proxy)
        for n, name in enumerate(("root", "test", "shop")):
            Browser(client, forwarded_for=f"203.0.113.{n}").sign_in("guess", username=name)
        # then: the header is ignored; its real address is locked
        rotated = Browser(client, forwarded_for="192.0.2.99")
        assert rotated.sign_in(OPS_PASSWORD, username="ops").status_code == 429


def test_failures_are_logged_by_account_name_only(
    client: TestClient, caplog: pytest.LogCaptureFixture, shop: Settings
) -> None:
    caplog.set_level(logging.INFO, logger="userops.auth")
    browser = Browser(client, forwarded_for="203.0.113.77")
    for _ in range(MAX_FAILURES):
        browser.sign_in("Secret-Guess-42")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "console sign-in failed for account 'admin' (1 in a row)" in text
    assert f"account 'admin' locked for {LOCKOUT} s after {MAX_FAILURES} failures" in text
    assert "Secret-Guess-42" not in text
    assert "203.0.113.77" not in text
    # and the ledger keeps a keyed hash of the address, not the address
    engine = engine_from(shop)
    with engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT kind, key FROM login_throttles")).all()
    engine.dispose()
    assert ("account", "admin") in keys
    assert [k for kind, k in keys if kind == "address" and "203.0.113" in k] == []
    assert len([k for kind, k in keys if kind == "address"]) == 1


# Sessions end on the server


def test_signing_out_ends_a_copied_cookie(client: TestClient) -> None:
    # given: a signed-in browser, and a copy of its cookie elsewhere
    browser = Browser(client)
    assert browser.sign_in(PASSWORD).status_code == 303
    copy = Browser(client)
    copy.cookie = browser.cookie
    assert copy.signed_in()
    # when
    csrf = browser.csrf("/")
    assert browser.request("POST", "/logout", data={"csrf": csrf}).status_code == 303
    # then: the copy no longer opens anything
    assert not copy.signed_in()
    assert copy.request("GET", "/customers").headers["location"] == "/login?next=/customers"
    assert copy.request("GET", "/login").status_code == 200  # the sign-in form, not a loop


def test_a_password_change_ends_the_other_sessions(client: TestClient) -> None:
    # given: the admin is signed in in two browsers
    laptop, phone = Browser(client), Browser(client)
    laptop.sign_in(PASSWORD)
    phone.sign_in(PASSWORD)
    stolen = Browser(client)
    stolen.cookie = laptop.cookie  # a copy of the laptop's cookie from before the change
    # when: the laptop changes the password
    data = {
        "current_password": PASSWORD,
        "new_password": "a-new-password-9",
        "confirm_password": "a-new-password-9",
        "csrf": laptop.csrf("/account/password"),
    }
    response = laptop.request("POST", "/account/password", data=data)
    # then: the laptop stays signed in (on a new session), every other copy is out
    assert response.status_code == 200
    assert "密码已修改" in response.text
    assert laptop.signed_in()
    assert not phone.signed_in()
    assert not stolen.signed_in()
    # and only the new password works
    assert Browser(client).sign_in(PASSWORD).status_code == 401
    assert Browser(client).sign_in("a-new-password-9").status_code == 303


@pytest.mark.parametrize(
    ("current", "new", "confirm", "status", "message"),
    [
        ("wrong-password", "a-new-password-9", "a-new-password-9", 401, "当前密码不正确"),
        (PASSWORD, "a-new-password-9", "another-one-000", 422, "两次输入的新密码不一致"),
        (PASSWORD, "short", "short", 422, "新密码至少需要 8 个字符"),
    ],
)
def test_a_refused_password_change_changes_nothing(
    client: TestClient, current: str, new: str, confirm: str, status: int, message: str
) -> None:
    browser = Browser(client)
    browser.sign_in(PASSWORD)
    other = Browser(client)
    other.sign_in(PASSWORD)
    data = {
        "current_password": current,
        "new_password": new,
        "confirm_password": confirm,
        "csrf": browser.csrf("/account/password"),
    }
    response = browser.request("POST", "/account/password", data=data)
    assert response.status_code == status
    assert message in response.text
    assert browser.signed_in() and other.signed_in()
    assert Browser(client).sign_in(PASSWORD).status_code == 303


def test_wrong_current_passwords_are_throttled_like_sign_ins(client: TestClient) -> None:
    browser = Browser(client)
    browser.sign_in(PASSWORD)
    statuses = []
    for _ in range(MAX_FAILURES + 1):
        data = {
            "current_password": "guess-guess",
            "new_password": "a-new-password-9",
            "confirm_password": "a-new-password-9",
            "csrf": browser.csrf("/account/password"),
        }
        statuses.append(browser.request("POST", "/account/password", data=data).status_code)
    assert statuses == [401] * MAX_FAILURES + [429]


def test_the_password_page_needs_a_session(client: TestClient) -> None:
    response = Browser(client).request("GET", "/account/password")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/password"


def test_cli_admin_password_ends_sessions_and_lifts_a_lockout(
    client: TestClient, shop: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a signed-in browser, and the account locked by someone else's guesses
    browser = Browser(client)
    browser.sign_in(PASSWORD)
    for n in range(MAX_FAILURES):
        Browser(client, forwarded_for=f"203.0.113.{n}").sign_in("guess-123")
    # when: `userops admin password` sets a new one
    monkeypatch.setenv("USEROPS_LEDGER_URL", shop.resolved_ledger_url)
    result = CliRunner().invoke(
        cli_app,
        ["admin", "password", "--data-dir", str(shop.data_dir)],
        input="cli-password-77\ncli-password-77\n",
    )
    # then
    assert result.exit_code == 0, result.output
    assert not browser.signed_in()
    assert Browser(client).sign_in("cli-password-77").status_code == 303


# The Secure flag


def session_cookie_header(response: httpx.Response) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    assert found, "no session cookie set"
    return found[0].lower()


@pytest.mark.parametrize(
    ("mode", "base_url", "headers", "secure"),
    [
        ("auto", "http://testserver", {}, False),
        ("auto", "https://testserver", {}, True),
        ("auto", "http://testserver", {"x-forwarded-proto": "https"}, True),
        ("always", "http://testserver", {}, True),
        ("never", "https://testserver", {}, False),
    ],
)
def test_the_cookie_is_secure_over_https(
    shop: Settings, mode: str, base_url: str, headers: dict[str, str], secure: bool
) -> None:
    with serving(shop, cookie_secure=mode) as client:
        client.base_url = httpx.URL(base_url)
        response = client.get("/login", headers=headers)
    assert response.status_code == 200
    cookie = session_cookie_header(response)
    assert ("; secure" in cookie) is secure
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_a_forwarded_proto_from_an_untrusted_peer_is_ignored(shop: Settings) -> None:
    with serving(shop, trusted_proxies=["10.0.0.1"]) as client:
        response = client.get("/login", headers={"x-forwarded-proto": "https"})
    assert "; secure" not in session_cookie_header(response)
