"""Consent changes through the API, tracking and files reach the ``reachable`` segment condition
at once, without a tags refresh (ledger on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import write
from tests.tracking.conftest import load

from userops.auth import service as auth
from userops.config import Settings
from userops.hub import Hub, connect
from userops.jobs import ops
from userops.ledger import unit_of_work
from userops.segments import service as segments
from userops.server import create_app

SMS = {"reachable": "sms"}
EMAIL = {"reachable": "email"}


def _quiet(*_: object) -> None:
    return None


@pytest.fixture
def api(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    customers = write(
        tmp_path / "customers.csv",
        "customer_id,phone,email,consent_sms\nc1,13800000001,a@x.com,granted\n"
        "c2,13900000002,b@x.com,\nc3,13700000003,,withdrawn\n",
    )
    with connect(settings) as hub:
        ops.run(hub, "import", {"entity": "customers", "path": str(customers)}, _quiet)
    with TestClient(create_app(settings)) as client:
        yield client


def _hub(client: TestClient) -> Hub:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    return hub


def _key(client: TestClient, scope: str) -> dict[str, str]:
    with unit_of_work(_hub(client).engine) as session:
        return {"authorization": f"Bearer {auth.create_key(session, scope=scope).key}"}


def _reachable(client: TestClient, rule: dict[str, str]) -> list[str]:
    hub = _hub(client)
    with unit_of_work(hub.engine) as session:
        return segments.preview(session, hub.warehouse, rule, sample=100).sample


def test_file_import_is_seen_at_once(api: TestClient) -> None:
    assert _reachable(api, SMS) == ["c1"]  # no tags refresh ran


def test_api_grant_and_withdrawal(api: TestClient) -> None:
    admin = _key(api, "admin")
    body = {
        "channel": "sms",
        "status": "granted",
        "source": "crm:call-center",
        "at": "2025-06-01T10:00:00+08:00",
    }
    response = api.post("/api/v1/customers/c2/consents", json=body, headers=admin)
    assert response.status_code == 200, response.text
    recorded = response.json()["consents"][0]
    assert (recorded["channel"], recorded["status"]) == ("sms", "granted")
    assert recorded["source"] == "crm:call-center"
    assert recorded["recorded_at"].startswith("2025-06-01T02:00:00")
    assert _reachable(api, SMS) == ["c1", "c2"]
    future = {**body, "status": "withdrawn", "at": "2030-01-01T00:00:00+08:00"}
    assert api.post("/api/v1/customers/c1/consents", json=future, headers=admin).status_code == 400
    withdraw = {"channel": "sms", "status": "withdrawn", "source": "unsubscribe"}  # at: now
    response = api.post("/api/v1/customers/c1/consents", json=withdraw, headers=admin)
    assert response.status_code == 200, response.text
    assert _reachable(api, SMS) == ["c2"]
    # a late grant dated before the withdrawal goes to the history only
    assert api.post("/api/v1/customers/c1/consents", json=body, headers=admin).status_code == 200
    assert _reachable(api, SMS) == ["c2"]
    view = api.get("/api/v1/customers/c1", headers=admin).json()
    assert [(c["status"], c["source"]) for c in view["consents"]] == [("withdrawn", "unsubscribe")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "fax", "status": "granted", "source": "x"}, "channel"),
        ({"channel": "sms", "status": "maybe", "source": "x"}, "status"),
        ({"channel": "sms", "status": "granted", "source": " "}, "source"),
        ({"channel": "sms", "status": "granted"}, "source"),
        ({"channel": "sms", "status": "granted", "source": "x", "at": "yesterday"}, "at"),
        ({"channel": "sms", "status": "granted", "source": "x", "at": "2025-01-01T00:00"}, "at"),
        # strict: no Unix time (number or numeric text), no naive time, no bare date
        ({"channel": "sms", "status": "granted", "source": "x", "at": 1735689600}, "at"),
        ({"channel": "sms", "status": "granted", "source": "x", "at": "1735689600"}, "at"),
        ({"channel": "sms", "status": "granted", "source": "x", "at": "2025-01-01T00:00:00"}, "at"),
        ({"channel": "sms", "status": "granted", "source": "x", "at": "2025-01-01"}, "at"),
        ({"channel": "sms", "status": "granted", "source": "x", "extra": 1}, "extra"),
    ],
)
def test_api_refuses_bad_input_naming_the_field(
    api: TestClient, body: dict[str, object], field: str
) -> None:
    response = api.post("/api/v1/customers/c1/consents", json=body, headers=_key(api, "admin"))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field
    assert _reachable(api, SMS) == ["c1"]  # nothing stored


def test_api_scope_and_unknown_customer(api: TestClient) -> None:
    body = {"channel": "sms", "status": "granted", "source": "x"}
    read = _key(api, "read")
    assert api.post("/api/v1/customers/c2/consents", json=body, headers=read).status_code == 403
    missing = api.post("/api/v1/customers/zz/consents", json=body, headers=_key(api, "admin"))
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "customer_id"


def test_tracking_identify_trait_and_consent_updated_event(api: TestClient) -> None:
    write_key = _key(api, "write")
    batch = [
        {
            "type": "identify",
            "userId": "c2",
            "messageId": "k1",
            "traits": {"consent": {"sms": "granted", "email": "granted", "fax": "granted"}},
        },
        {
            "type": "track",
            "userId": "c1",
            "event": "Consent Updated",
            "messageId": "k2",
            "properties": {"channel": "sms", "status": "withdrawn", "source": "unsubscribe-link"},
        },
    ]
    assert api.post("/v1/batch", json={"batch": batch}, headers=write_key).status_code == 200
    load(api)
    assert _reachable(api, SMS) == ["c2"]
    assert _reachable(api, EMAIL) == ["c2"]
    view = api.get("/api/v1/customers/c1", headers=_key(api, "read")).json()
    assert view["consents"][0]["source"] == "tracking:unsubscribe-link"
    profile = api.get("/api/v1/customers/c2", headers=_key(api, "read")).json()["profile"]
    assert "consent" not in (profile["attributes"] or {})  # a reserved trait, not an attribute
