"""``/docs`` from the package (no CDN), ReDoc off, and the console's own 404 page, while the
API keeps answering JSON errors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from tests.support import LOCAL_HOSTS, launch_chromium, need_browser, only_local, running_server

import userops.console
from userops.config import Settings

VENDOR_DIR = Path(userops.console.__file__).parent / "static" / "vendor"
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def referenced(html: str) -> list[str]:
    """Every URL the page loads: src/href attributes and the spec URL in the start script."""
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    urls += re.findall(r"url: '([^']+)'", html)
    return urls


def test_docs_page_loads_everything_from_this_server(client: TestClient) -> None:
    # when
    page = client.get("/docs")
    # then: no absolute URL to anywhere but this machine
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    foreign = [
        url
        for url in re.findall(r"https?://[^\s\"'<>)]+", page.text)
        if urlsplit(url).hostname not in LOCAL_HOSTS
    ]
    assert foreign == []
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # and every asset it references is served here, byte for byte the vendored file
    urls = referenced(page.text)
    assert {"/static/vendor/swagger-ui-bundle.js", "/static/vendor/swagger-ui.css"} <= set(urls)
    assert "/openapi.json" in urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        if url.startswith("/static/vendor/"):
            assert response.content == (VENDOR_DIR / url.rsplit("/", 1)[1]).read_bytes()
    assert '"validatorUrl": null' in page.text  # no badge from validator.swagger.io


def test_swagger_ui_files_match_versions_md() -> None:
    table = (VENDOR_DIR / "VERSIONS.md").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        digest = hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest()
        assert f"| swagger-ui-dist | 5.35.0 | {name} " in table
        assert digest in table, f"{name} does not match VERSIONS.md; run refresh.sh"
    assert "Apache License" in (VENDOR_DIR / "swagger-ui.LICENSE").read_text()
    assert (VENDOR_DIR / "swagger-ui.NOTICE").is_file()


def test_redoc_is_turned_off(client: TestClient) -> None:
    assert client.get("/redoc", headers={"accept": "application/json"}).status_code == 404


# The console's 404 page


def test_an_unknown_console_url_is_the_console_404_page(signed_in: TestClient) -> None:
    response = signed_in.get("/no-such-page", headers=HTML)
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "没有这个页面：/no-such-page" in response.text
    assert 'href="/"' in response.text and "返回概览" in response.text
    assert 'class="nav"' in response.text  # the console layout, with its navigation
    assert "admin" in response.text  # and who is signed in
    # in English too
    signed_in.get("/lang/en")
    english = signed_in.get("/campaigns/spring", headers=HTML)
    assert english.status_code == 404
    assert "There is no page at /campaigns/spring." in english.text
    assert "Back to the overview" in english.text


def test_signed_out_the_404_page_offers_the_sign_in(client: TestClient) -> None:
    response = client.get("/nothing/here", headers=HTML)
    assert response.status_code == 404
    assert "没有这个页面" in response.text
    assert 'href="/login"' in response.text


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/nothing", HTML),
        ("/v1/track/extra", HTML),
        ("/api/v1/customers/c1/nothing", {}),
        ("/no-such-page", {"accept": "application/json"}),
    ],
)
def test_api_paths_and_json_clients_keep_json_errors(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not Found", "field": None}
    }


# In a browser, with every request off this machine refused


@pytest.fixture
def server(tmp_path: Path, make_data_dir: Callable[[Path], Settings]) -> Iterator[str]:
    need_browser()
    settings = make_data_dir(tmp_path / "data")
    with running_server(settings.data_dir, tmp_path / "server.log") as url:
        yield url


@pytest.mark.browser
def test_swagger_ui_renders_the_operations_offline(server: str) -> None:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            page.route("**/*", only_local(blocked))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            title = page.inner_text(".info .title")
            page.goto(f"{server}/no-such-page")
            not_found = page.inner_text("#page-not-found")
        finally:
            browser.close()
    assert blocked == [], f"requests left localhost: {blocked}"
    assert errors == []
    assert "userops" in title
    assert "/api/v1/customers/{customer_id}" in [p.replace("\u200b", "") for p in paths]
    assert "/v1/track" in [p.replace("\u200b", "") for p in paths]
    assert "/no-such-page" in not_found
