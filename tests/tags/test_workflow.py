"""The one refresh workflow (mirror reach → tags → segment history) behind the job, the API and
the console, and its as_of guard. Both ledgers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.console.conftest import CUSTOMERS, ORDERS, PASSWORD, csrf_of

from userops.auth import service as auth
from userops.auth.service import ensure_first_admin
from userops.config import Settings
from userops.core.clock import local_midnight_utc, utcnow
from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest.service import import_file
from userops.jobs import ops
from userops.ledger import engine_from, migrate, unit_of_work
from userops.segments import service as segments
from userops.server import create_app
from userops.tags import service as tags


@pytest.fixture
def shop(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """Three customers (c1 has a phone and granted SMS; c2 a phone and no consent), an admin
    and a saved segment of everyone reachable by SMS; the server app running over them."""
    settings = settings.model_copy(update={"admin_password": PASSWORD})
    engine = engine_from(settings)
    migrate(engine)
    with unit_of_work(engine) as session:
        ensure_first_admin(session, password=PASSWORD)
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        hub = hub_of(client)
        for entity, text in (("customers", CUSTOMERS), ("orders", ORDERS)):
            load(hub, tmp_path / f"{entity}.csv", entity, text)
        with unit_of_work(hub.engine) as session:
            segments.create(session, hub.warehouse, name="sms-ok", rule={"reachable": "sms"})
        yield client


def hub_of(client: TestClient) -> Hub:
    found: Hub = client.app.state.hub  # type: ignore[attr-defined]
    return found


def load(hub: Hub, path: Path, entity: str, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    summary = import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity=entity,
        path=path,
    )
    assert summary.rejected == 0


def admin(client: TestClient) -> dict[str, str]:
    with unit_of_work(hub_of(client).engine) as session:
        return {"authorization": f"Bearer {auth.create_key(session, scope='admin').key}"}


def set_c2_sms(client: TestClient, tmp_path: Path, status: str) -> None:
    load(
        hub_of(client),
        tmp_path / f"consent-{status}.csv",
        "customers",
        f"customer_id,consent_sms\nc2,{status}\n",
    )


def current_tags(hub: Hub) -> list[tuple[str, str, str]]:
    cur = hub.warehouse.cursor()
    try:
        rows = cur.execute("SELECT * FROM customer_tags ORDER BY ALL").fetchall()
    finally:
        cur.close()
    return [tuple(r) for r in rows]


def via_job(client: TestClient) -> None:
    ops.run(hub_of(client), "tags.refresh", {}, lambda *_: None)


def via_api(client: TestClient) -> None:
    response = client.post("/api/v1/tags/refresh", headers=admin(client))
    assert response.status_code == 200, response.text
    assert response.json()["segments"]["sms-ok"]["size"] >= 1


def via_console(client: TestClient) -> None:
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    csrf = csrf_of(client.get("/tags").text)
    response = client.post("/tags/refresh", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303


def test_job_api_and_console_run_the_same_workflow(shop: TestClient, tmp_path: Path) -> None:
    # given: before each refresh, c2's SMS consent changes in the ledger
    hub = hub_of(shop)
    expected_sizes = {"granted": 2, "withdrawn": 1}
    results: list[tuple[Any, ...]] = []
    for refresh, status in ((via_job, "granted"), (via_api, "withdrawn"), (via_console, "granted")):
        set_c2_sms(shop, tmp_path, status)
        # when
        refresh(shop)
        # then: reach was mirrored before the segments were recorded, in every path
        last = segments.history(hub.warehouse, "sms-ok")[-1]
        assert last.size == expected_sizes[status], refresh.__name__
        refreshed = tags.last_refresh(hub.warehouse)
        assert refreshed is not None
        results.append((refreshed["customers"], refreshed["counts"], current_tags(hub)))
    assert len(segments.history(hub.warehouse, "sms-ok")) == 3
    assert results[0] == results[1] == results[2]
    assert results[0][0] == 3


def test_api_refuses_a_past_or_future_as_of_unless_backfill(shop: TestClient) -> None:
    hub = hub_of(shop)
    headers = admin(shop)
    today = utcnow().astimezone(hub.settings.tz).date()
    # given: a current customer system
    assert shop.post("/api/v1/tags/refresh", headers=headers).status_code == 200
    before = current_tags(hub)
    for day in (date(2000, 1, 1), today - timedelta(days=2), today + timedelta(days=400)):
        # when
        response = shop.post(
            "/api/v1/tags/refresh", params={"as_of": day.isoformat()}, headers=headers
        )
        # then: refused, nothing replaced
        assert response.status_code == 400, (day, response.text)
        assert response.json()["error"]["field"] == "as_of"
        assert current_tags(hub) == before
    # today's and tomorrow's shop-local midnight are the current window
    for day in (today, today + timedelta(days=1)):
        response = shop.post(
            "/api/v1/tags/refresh", params={"as_of": day.isoformat()}, headers=headers
        )
        assert response.status_code == 200, response.text
    # a backfill is what the caller asks for: the customers of 2000 (none yet)
    response = shop.post(
        "/api/v1/tags/refresh", params={"as_of": "2000-01-01", "backfill": True}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customers"] == 0
    assert body["as_of"].startswith(
        local_midnight_utc(date(2000, 1, 1), hub.settings.tz).isoformat()[:19]
    )
    # the future stays refused, backfill or not
    future = (today + timedelta(days=30)).isoformat()
    response = shop.post(
        "/api/v1/tags/refresh", params={"as_of": future, "backfill": True}, headers=headers
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "as_of"


def test_job_refuses_a_past_as_of_unless_backfill(shop: TestClient) -> None:
    hub = hub_of(shop)
    with pytest.raises(InvalidInput) as refused:
        ops.run(hub, "tags.refresh", {"as_of": "2024-03-02"}, lambda *_: None)
    assert refused.value.field == "as_of"
    assert tags.last_refresh(hub.warehouse) is None
    done = ops.run(hub, "tags.refresh", {"as_of": "2024-03-03", "backfill": True}, lambda *_: None)
    # all three had signed up by then (c3 last, at 00:30 on Mar 2, shop time)
    assert done["customers"] == 3
    assert done["segments"]["sms-ok"]["size"] == 1
