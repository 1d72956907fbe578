"""The console's CLV page and the customer 360 block, on the CDNOW sample."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from userops.auth.service import ensure_first_admin
from userops.config import Settings
from userops.ingest.cdnow import import_cdnow
from userops.predict import service as predict
from userops.server import create_app

PASSWORD = "clv-console-pass"


def sign_in(client: TestClient) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf": csrf.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303


@pytest.fixture(scope="module")
def console(cdnow_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("clv") / "data", admin_password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        from userops.ledger import unit_of_work

        with unit_of_work(hub.engine) as session:
            ensure_first_admin(session, password=PASSWORD)
        sign_in(client)
        assert "clv-empty" in client.get("/clv").text  # before the first fit
        import_cdnow(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=settings.rejects_dir,
            path=cdnow_dir / "CDNOW_sample.txt",
        )
        predict.fit(
            hub.warehouse,
            data_dir=settings.resolved_data_dir,
            timezone=settings.timezone,
            time_unit="week",
        )
        yield client


def test_clv_page(console: TestClient) -> None:
    page = console.get("/clv", headers={"accept-language": "en"})
    assert page.status_code == 200
    html = page.text
    assert 'href="/clv"' in html  # in the navigation
    assert "r=0.2" in html and "Gamma-Gamma" in html
    assert html.count('href="/customers/') >= 20  # the top customers link to their 360 page
    data = json.loads(re.search(r'id="clv-data">(.*?)</script>', html, re.S).group(1))
    assert sum(b["customers"] for b in data["buckets"]) == 2357
    assert sum(r["high"] + r["medium"] + r["low"] for r in data["risk"]) == 2357
    diagnostics = data["diagnostics"]
    assert diagnostics["calibration_end"] < diagnostics["holdout_end"] == "1998-06-30"
    assert len(diagnostics["by_frequency"]) == 8 and diagnostics["cumulative"]
    assert 'id="chart-tracking"' in html and 'id="chart-by-frequency"' in html
    script = console.get("/clv/charts.js")
    assert script.status_code == 200 and "chart-tracking" in script.text


def test_customer_360_shows_the_numbers(console: TestClient) -> None:
    html = console.get("/customers/00004", headers={"accept-language": "en"}).text
    block = html[html.index('id="customer-clv"') : html.index('id="customer-recommendations"')]
    score = predict.show(console.app.state.hub.warehouse, "00004")  # type: ignore[attr-defined]
    assert "P(alive)" in block and f"{score.p_alive:.2f}" in block
    assert f"{score.clv_fen // 100}" in block.replace(",", "")
