"""The console's pages through the whole server app (TestClient, no browser)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import userops.console
from userops.console import i18n
from userops.customers.schemas import CONSENT_CHANNELS, CONTACT_KINDS, GENDERS

CONSOLE_DIR = Path(userops.console.__file__).parent
VENDOR_DIR = CONSOLE_DIR / "static" / "vendor"
PAGES = ("/", "/customers", "/customers?query=13800000001", "/customers/c1")


def kpi(html: str, name: str) -> str:
    found = re.search(rf'id="kpi-{name}">.*?<p class="value">([^<]*)</p>', html, re.S)
    assert found, f"no KPI card {name}"
    return found.group(1)


# Signing in and out


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_signed_out_htmx_requests_redirect_the_page(client: TestClient) -> None:
    response = client.get(
        "/customers?query=x", headers={"HX-Request": "true"}, follow_redirects=False
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_wrong_password_shows_an_error_and_signs_nobody_in(
    client: TestClient, csrf: Callable[[str], str]
) -> None:
    # given
    page = client.get("/login")
    # when
    response = client.post(
        "/login", data={"username": "admin", "password": "wrong-password", "csrf": csrf(page.text)}
    )
    # then
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_without_the_form_token_is_refused(client: TestClient, admin_password: str) -> None:
    response = client.post("/login", data={"username": "admin", "password": admin_password})
    assert response.status_code == 401
    assert "页面已过期" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_goes_back_to_the_page_asked_for_then_logout(
    client: TestClient, csrf: Callable[[str], str], admin_password: str
) -> None:
    # given: a signed-out operator opens a customer
    location = client.get("/customers/c1", follow_redirects=False).headers["location"]
    assert location == "/login?next=/customers/c1"
    page = client.get(location)
    # when
    response = client.post(
        "/login",
        data={
            "username": "admin",
            "password": admin_password,
            "csrf": csrf(page.text),
            "next": "/customers/c1",
        },
        follow_redirects=False,
    )
    # then
    assert response.status_code == 303
    assert response.headers["location"] == "/customers/c1"
    assert "userops_session" in response.cookies
    home = client.get("/")
    assert home.status_code == 200
    assert "admin" in home.text
    # and signing out ends the session
    response = client.post("/logout", data={"csrf": csrf(home.text)}, follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(
    client: TestClient, csrf: Callable[[str], str], admin_password: str
) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "admin",
            "password": admin_password,
            "csrf": csrf(page.text),
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
    response = client.get("/lang/en?next=https://evil.example/", follow_redirects=False)
    assert response.headers["location"] == "/"


# Pages


def test_overview_shows_the_kpis(signed_in: TestClient) -> None:
    html = signed_in.get("/").text
    assert kpi(html, "customers") == "3"
    assert kpi(html, "orders") == "2"  # the refunded and the cancelled order are not counted
    assert kpi(html, "gmv") == "¥350.50"
    assert kpi(html, "aov") == "¥175.25"
    assert 'id="chart-new-customers"' in html
    assert 'id="chart-gmv"' in html


def test_overview_embeds_the_daily_series(signed_in: TestClient) -> None:
    html = signed_in.get("/?days=30").text
    found = re.search(
        r'<script type="application/json" id="overview-data">(.*?)</script>', html, re.S
    )
    assert found
    data = json.loads(found.group(1))
    assert len(data["days"]) == 30
    assert data["days"][-2:] == ["2024-03-01", "2024-03-02"]
    assert data["gmv_fen"][-2:] == [10000, 25050]  # 16:30 UTC is already 03-02 in Shanghai
    assert data["new_customers"][-2:] == [1, 1]


def test_customer_search_by_phone(signed_in: TestClient) -> None:
    html = signed_in.get("/customers", params={"query": "13800000001"}).text
    assert 'href="/customers/c1"' in html
    assert 'href="/customers/c2"' not in html
    assert "<html" in html


def test_customer_search_answers_htmx_with_the_results_only(signed_in: TestClient) -> None:
    response = signed_in.get("/customers", params={"query": "李"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'href="/customers/c2"' in response.text
    assert 'hx-get="/customers"' in signed_in.get("/customers").text


def test_customer_search_without_matches(signed_in: TestClient) -> None:
    html = signed_in.get("/customers", params={"query": "nobody-here"}).text
    assert "没有找到匹配的客户" in html


def test_customer_360_masks_contact_points_and_lists_orders(signed_in: TestClient) -> None:
    html = signed_in.get("/customers/c1").text
    assert "138****0001" in html
    assert "13800000001" not in html
    assert "zh***@example.com" in html
    assert "zhang.san@example.com" not in html
    assert "o-1001" in html and "o-1003" in html
    assert "¥100.00" in html  # paid total: the refunded order is not counted
    assert "import:customers.csv" in html  # where the consent came from
    assert "已授权" in html and "已退订" in html


def test_unknown_customer_is_a_404_page(signed_in: TestClient) -> None:
    response = signed_in.get("/customers/no-such-customer")
    assert response.status_code == 404
    assert "no-such-customer" in response.text
    assert "<html" in response.text


def test_language_switch_changes_the_labels(signed_in: TestClient) -> None:
    # given: the default language is zh-CN
    html = signed_in.get("/").text
    assert "概览" in html and "即将推出" in html and 'lang="zh-CN"' in html
    # when
    response = signed_in.get("/lang/en", params={"next": "/customers"}, follow_redirects=False)
    # then
    assert response.headers["location"] == "/customers"
    html = signed_in.get("/").text
    assert "Overview" in html and "coming soon" in html and 'lang="en"' in html
    assert "概览" not in html
    assert "Customers &amp; tags" in html
    signed_in.get("/lang/zh-CN")
    assert "概览" in signed_in.get("/").text


def test_unknown_language_is_refused(client: TestClient) -> None:
    assert client.get("/lang/fr", follow_redirects=False).status_code == 404


def test_browser_language_is_the_default(client: TestClient) -> None:
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert "Sign in" in english
    chinese = client.get("/login", headers={"Accept-Language": "fr;q=1, zh-TW;q=0.8"}).text
    assert "登录" in chinese


def test_disabled_nav_items_are_not_links(signed_in: TestClient) -> None:
    from userops.console import i18n
    from userops.console.templating import NAV

    html = signed_in.get("/").text
    for item in NAV:
        label = i18n.translate("zh-CN", f"nav.{item.key}", None)
        if item.href is None:  # not built yet: shown, but not a link
            assert re.search(
                rf'<span class="nav-item disabled" aria-disabled="true">{label}<', html
            )
        else:
            assert f'href="{item.href}"' in html and f">{label}</a>" in html
    assert any(item.href is None for item in NAV)
    assert '<a class="nav-item active" href="/" aria-current="page">概览</a>' in html


# Assets and headers


@pytest.mark.parametrize("name", ["echarts.min.js", "htmx.min.js"])
def test_vendored_javascript_is_served_locally(client: TestClient, name: str) -> None:
    response = client.get(f"/static/vendor/{name}")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.content == (VENDOR_DIR / name).read_bytes()


def test_vendored_files_match_versions_md() -> None:
    table = (VENDOR_DIR / "VERSIONS.md").read_text()
    for name in ("echarts.min.js", "htmx.min.js"):
        digest = hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest()
        assert digest in table, f"{name} does not match VERSIONS.md; run refresh.sh"
    for license_file in ("echarts.LICENSE", "echarts.NOTICE", "htmx.LICENSE"):
        assert (VENDOR_DIR / license_file).is_file()
    assert re.search(r"\| htmx\.org \| 2\.\d+\.\d+ \|", table)
    assert "| echarts | 6.1.0 |" in table


def test_own_assets_are_served(client: TestClient) -> None:
    assert "javascript" in client.get("/static/console.js").headers["content-type"]
    assert "text/css" in client.get("/static/console.css").headers["content-type"]


def test_no_page_loads_anything_from_the_internet(signed_in: TestClient) -> None:
    for path in (*PAGES, "/customers/no-such-customer"):
        html = signed_in.get(path).text
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", html), path
        scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
        styles = re.findall(r'<link[^>]*\shref="([^"]+)"', html)
        assert scripts and all(s.startswith("/static/") for s in scripts), path
        assert styles and all(s.startswith("/static/") for s in styles), path
    assert "/static/vendor/echarts.min.js" in signed_in.get("/").text
    css = (CONSOLE_DIR / "static" / "console.css").read_text()
    assert "url(" not in css and "@import" not in css


def test_pages_send_a_same_origin_content_security_policy(signed_in: TestClient) -> None:
    policy = signed_in.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy


def test_console_routes_stay_out_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [
        p
        for p in paths
        if p in {"/", "/login", "/logout"} or p.startswith(("/customers", "/lang", "/static"))
    ]


# Catalogs


def test_both_catalogs_have_the_same_labels() -> None:
    zh, en = i18n.catalog("zh-CN"), i18n.catalog("en")
    assert set(zh) == set(en)
    assert all(v.strip() for v in (*zh.values(), *en.values()))
    assert zh["nav.overview"] == "概览" and en["nav.overview"] == "Overview"


def test_every_label_used_in_a_template_exists() -> None:
    used: set[str] = set()
    for template in (CONSOLE_DIR / "templates").rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*'([a-zA-Z0-9_.\-]+)'\s*[,)]""", template.read_text()))
    used |= {
        f"nav.{k}"
        for k in (
            "overview",
            "customers",
            "tags",
            "segments",
            "campaigns",
            "loyalty",
            "growth",
            "analytics",
        )
    }
    used |= {f"lang.{code}" for code in i18n.LANGUAGES}
    used |= {f"status.{s}" for s in ("paid", "refunded", "cancelled")}
    used |= {f"contact.{k}" for k in CONTACT_KINDS} | {f"channel.{c}" for c in CONSENT_CHANNELS}
    used |= {f"gender.{g}" for g in GENDERS} | {"auth.error.invalid", "auth.error.expired"}
    used |= {"consent.status.granted", "consent.status.withdrawn", "error.customer_not_found"}
    for lang in i18n.LANGUAGES:
        missing = sorted(used - set(i18n.catalog(lang)))
        assert not missing, f"{lang} lacks {missing}"


def test_accept_language_parsing() -> None:
    assert i18n.from_accept_language("en-GB,en;q=0.9,zh-CN;q=0.8") == "en"
    assert i18n.from_accept_language("fr, zh;q=0.5, en;q=0.4") == "zh-CN"
    assert i18n.from_accept_language("en;q=0, zh-HK") == "zh-CN"
    assert i18n.from_accept_language("fr, de") is None
    assert i18n.choose(None, None) == "zh-CN"
    assert i18n.choose("en", "zh-CN") == "en"
    assert i18n.choose("xx", "en") == "en"
