"""The reports through the CLI, the HTTP API and the console, on the demo shop."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from userops.auth import service as auth
from userops.cli.main import app
from userops.config import Settings
from userops.ledger import engine_from, unit_of_work
from userops.server import create_app

from .conftest import PASSWORD


def cli(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--data-dir", str(settings.data_dir), "--json"])
    return result.exit_code, result.stdout


def test_cli_retention_json(demo_settings: Settings) -> None:
    code, out = cli(
        demo_settings,
        "report",
        "retention",
        "--period",
        "week",
        "--intervals",
        "4",
        "--start-event",
        "signup",
        "--return-event",
        "any",
        "--mode",
        "first_time",
        "--date-to",
        "2026-10-31",
        "--week-start",
        "sunday",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["period"] == "week"
    # 2026-10-31 is a Saturday: its Sunday-first week starts on 10-25
    assert [c["start"] for c in data["cohorts"]] == [
        "2026-10-04",
        "2026-10-11",
        "2026-10-18",
        "2026-10-25",
    ]
    assert [len(c["counts"]) for c in data["cohorts"]] == [4, 3, 2, 1]
    assert set(data["cohorts"][0]) >= {"start", "size", "counts", "rates"}
    assert all(c["size"] > 0 for c in data["cohorts"])


def test_cli_other_reports_and_errors(demo_settings: Settings) -> None:
    code, out = cli(
        demo_settings,
        "report",
        "funnel",
        "--step",
        "product_view",
        "--step",
        "add_to_cart",
        "--step",
        "order",
        "--window",
        "7d",
    )
    assert code == 0, out
    steps = json.loads(out)["steps"]
    assert [s["step"] for s in steps] == ["product_view", "add_to_cart", "order"]
    assert steps[0]["people"] >= steps[1]["people"] >= steps[2]["people"] > 0
    code, out = cli(demo_settings, "report", "aarrr", "--period", "week")
    assert code == 0 and len(json.loads(out)["periods"]) == 8
    code, out = cli(demo_settings, "report", "channels")
    assert code == 0 and json.loads(out)["channels"]
    code, out = cli(
        demo_settings, "report", "magic-number", "--within-days", "7", "--retained-day", "30"
    )
    assert code == 0 and json.loads(out)["behaviours"][0]["event"] == "favorite"
    code, out = cli(demo_settings, "report", "retention", "--period", "quarter")
    assert code == 2
    assert json.loads(out)["error"]["field"] == "period"
    code, out = cli(demo_settings, "report", "retention", "--intervals", "0")
    assert code == 2 and "between 1 and" in json.loads(out)["error"]["message"]


@pytest.fixture(scope="module")
def client(demo_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(demo_settings)) as opened:
        yield opened


@pytest.fixture(scope="module")
def read_key(demo_settings: Settings, client: TestClient) -> str:
    engine = engine_from(demo_settings)
    with unit_of_work(engine) as session:
        created = auth.create_key(session, scope="read", name="analytics tests")
    engine.dispose()
    return created.key


def test_api_reports(client: TestClient, read_key: str) -> None:
    headers = {"Authorization": f"Bearer {read_key}"}
    r = client.get(
        "/api/v1/analytics/retention",
        headers=headers,
        params={
            "period": "month",
            "intervals": 3,
            "start_event": "first_order",
            "return_event": "order",
            "mode": "first_time",
        },
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["cohorts"]) == 3
    r = client.get(
        "/api/v1/analytics/funnel",
        headers=headers,
        params=[("step", "product_view"), ("step", "order"), ("window", "1d"), ("dropped_at", "2")],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["dropped_people"]) == body["steps"][1]["dropped"]
    for path in ("aarrr", "channels", "magic-number"):
        assert client.get(f"/api/v1/analytics/{path}", headers=headers).status_code == 200
    bad = client.get(
        "/api/v1/analytics/retention", headers=headers, params={"return_event": "ordr"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "return_event"
    assert "did you mean order" in bad.json()["error"]["message"]
    assert client.get("/api/v1/analytics/retention").status_code == 401


def test_api_min_occurrences_entry_and_partial(client: TestClient, read_key: str) -> None:
    headers = {"Authorization": f"Bearer {read_key}"}
    params = {"period": "week", "intervals": 4, "start_event": "signup", "return_event": "any"}
    one = client.get("/api/v1/analytics/retention", headers=headers, params=params).json()
    many = client.get(
        "/api/v1/analytics/retention", headers=headers, params={**params, "min_occurrences": 40}
    ).json()
    assert [c["size"] for c in one["cohorts"]] == [c["size"] for c in many["cohorts"]]
    assert many["cohorts"][0]["counts"][1] < one["cohorts"][0]["counts"][1]
    assert many["min_occurrences"] == 40 and "at least 40 times" in many["definition"]
    # the demo's data ends on Thursday 2026-11-19: the week of 11-16 is not over
    assert one["covered_until"] == "2026-11-20"
    assert one["cohorts"][-1]["partial"] is True and one["cohorts"][0]["partial_cells"][-1]
    assert one["cohorts"][0]["partial_cells"][:-1] == [False] * 3
    bad = client.get(
        "/api/v1/analytics/retention", headers=headers, params={**params, "min_occurrences": 0}
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "min_occurrences"
    steps = [("step", "product_view"), ("step", "add_to_cart"), ("step", "checkout_done")]
    f = client.get("/api/v1/analytics/funnel", headers=headers, params=steps).json()
    assert f["entry"] == "any" and f["steps"][2]["people"] == 0
    assert "step 3" in f["warnings"][0]
    first = client.get(
        "/api/v1/analytics/funnel", headers=headers, params=[*steps[:2], ("entry", "first")]
    ).json()
    assert first["entry"] == "first"
    assert first["steps"][1]["people"] <= f["steps"][1]["people"]
    board = client.get("/api/v1/analytics/aarrr", headers=headers).json()
    assert board["periods"][-1]["partial"] is True
    assert set(board["definitions"]) == {
        "week1_retention",
        "week4_retention",
        "retention_next_period",
    }


@pytest.fixture(scope="module")
def console(client: TestClient) -> TestClient:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


@pytest.mark.parametrize("tab", ["retention", "funnel", "aarrr", "channels", "magic"])
def test_console_tabs_embed_chart_data_and_csv(console: TestClient, tab: str) -> None:
    html = console.get("/analytics", params={"tab": tab}).text
    assert 'id="main-chart"' in html and 'id="download-png"' in html
    found = re.search(
        r'<script type="application/json" id="analytics-data">(.*?)</script>', html, re.S
    )
    assert found
    data = json.loads(found.group(1))
    assert data["tab"] == tab and data["result"]
    assert f'href="/analytics/{tab}.csv?' in html
    response = console.get(f"/analytics/{tab}.csv", params={"tab": tab})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert len(rows) > 1


def test_console_retention_heatmap_breakdown_and_errors(console: TestClient) -> None:
    html = console.get(
        "/analytics",
        params={
            "tab": "retention",
            "period": "month",
            "intervals": "4",
            "breakdown": "signup_channel",
        },
    ).text
    assert html.count('class="table compact heat"') >= 5  # one matrix per channel
    assert "signup_channel = douyin" in html
    bad = console.get("/analytics", params={"tab": "retention", "period": "year"})
    assert bad.status_code == 400 and "day, week, month" in bad.text
    assert 'href="/analytics"' in console.get("/").text  # the nav links the page
    js = console.get("/analytics/charts.js")
    assert js.status_code == 200 and "getDataURL" in js.text
    magic = console.get("/analytics", params={"tab": "magic"}).text
    assert 'data-event="favorite"' in magic and 'id="magic-chart-0"' in magic


def test_console_labels_definitions_and_partial_periods(console: TestClient) -> None:
    heat = console.get(
        "/analytics", params={"tab": "retention", "min_occurrences": "2", "intervals": "4"}
    ).text
    assert 'name="min_occurrences"' in heat and 'value="2"' in heat
    assert 'data-partial="true"' in heat  # the current week's cells are hatched
    assert "at least 2 times" in heat
    board = console.get("/analytics", params={"tab": "aarrr"}).text
    assert 'class="partial-row" data-partial="true"' in board
    assert 'id="aarrr-definitions"' in board
    funnel = console.get(
        "/analytics", params=[("tab", "funnel"), ("step", "product_view"), ("step", "nope_x")]
    ).text
    assert 'data-warning="true"' in funnel and 'name="entry"' in funnel
    overview = console.get("/", params={"days": "30"}).text
    found = re.search(r'id="overview-data">(.*?)</script>', overview, re.S)
    assert found and len(json.loads(found.group(1))["partial"]) == 30
