"""The console's CLV page and the customer 360 block, on the CDNOW sample."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from userops.auth.service import ensure_first_admin
from userops.config import Settings
from userops.core.clock import local_midnight_utc
from userops.ingest.cdnow import import_cdnow
from userops.predict import service as predict
from userops.server import create_app
from userops.tags import service as tags
from userops.tags.rules import TagSettings

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
        tags.refresh(
            hub.warehouse,
            as_of=local_midnight_utc(date(1998, 7, 1), settings.tz),
            settings=TagSettings(),
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
    # the churn model in use, each candidate's fit and holdout error, and the recency rule
    table = html[
        html.index('id="model-candidates"') : html.index(
            "</table>", html.index('id="model-candidates"')
        )
    ]
    for name in ("Pareto/NBD", "MBG/NBD", "BG/NBD"):
        assert name in table
    chosen = table[table.index('data-model="pareto_nbd"') :]
    assert "in use" in chosen[: chosen.index("</tr>")] and "0.7545" in chosen
    assert "Pareto/NBD is used for P(alive)" in html
    assert "silent for 3× their usual gap" in html and "180 days" in html
    # churn risk by lifecycle stage: no churned customer is low risk
    churned = next(r for r in data["risk"] if r["lifecycle"] == "churned")
    assert churned["low"] == 0 and churned["high"] + churned["medium"] == 1843
    zh = console.get("/clv", headers={"accept-language": "zh-CN"}).text
    assert "使用中" in zh and "近度规则" in zh
    script = console.get("/clv/charts.js")
    assert script.status_code == 200 and "chart-tracking" in script.text


def test_customer_360_shows_the_numbers(console: TestClient) -> None:
    html = console.get("/customers/00004", headers={"accept-language": "en"}).text
    block = html[html.index('id="customer-clv"') : html.index('id="customer-recommendations"')]
    score = predict.show(console.app.state.hub.warehouse, "00004")  # type: ignore[attr-defined]
    assert "P(alive)" in block and f"{score.p_alive:.2f}" in block
    assert f"{score.clv_fen // 100}" in block.replace(",", "")
