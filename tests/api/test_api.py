"""The HTTP API on both ledgers: scopes, JSON errors, customer lookups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import write

from userops.auth import service as auth
from userops.config import Settings
from userops.hub import connect
from userops.ingest.service import import_file
from userops.ledger import unit_of_work
from userops.server import create_app


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with connect(settings) as hub:
        for entity, text in (
            (
                "customers",
                "customer_id,name,phone,email,consent_sms\n"
                "c1,张三,13800000001,a@x.com,granted\nc2,李四,13900000002,,\n",
            ),
            (
                "orders",
                "order_id,customer_id,created_at,paid_at,status,amount_fen\n"
                "o1,c1,2025-01-01,2025-01-01,paid,1000\n"
                "o2,c1,2025-01-02,2025-01-02,paid,500\n",
            ),
        ):
            import_file(
                engine=hub.engine,
                warehouse=hub.warehouse,
                rejects_dir=settings.rejects_dir,
                entity=entity,
                path=write(tmp_path / f"{entity}.csv", text),
            )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def key(client: TestClient, scope: str) -> dict[str, str]:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with unit_of_work(hub.engine) as session:
        created = auth.create_key(session, scope=scope)
    return {"authorization": f"Bearer {created.key}"}


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/customers/{customer_id}" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_customer_360_and_search(client: TestClient) -> None:
    headers = key(client, "read")
    response = client.get("/api/v1/customers/c1", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["profile"]["name"] == "张三"
    assert {c["kind"]: c["value"] for c in body["contact_points"]} == {
        "phone": "13800000001",
        "email": "a@x.com",
    }
    assert body["consents"][0]["channel"] == "sms" and body["consents"][0]["status"] == "granted"
    assert body["totals"] == {
        "orders": 2,
        "paid_fen": 1500,
        "first_paid_at": body["totals"]["first_paid_at"],
        "last_paid_at": body["totals"]["last_paid_at"],
    }
    assert [o["order_id"] for o in body["recent_orders"]] == ["o2", "o1"]
    for query, expected in (
        ("13900000002", ["c2"]),
        ("a@x.com", ["c1"]),
        ("张", ["c1"]),
        ("c2", ["c2"]),
        ("nobody", []),
    ):
        found = client.get("/api/v1/customers", params={"query": query}, headers=headers).json()
        assert [c["customer_id"] for c in found] == expected, query


def test_scopes_and_json_errors(client: TestClient) -> None:
    missing = client.get("/api/v1/customers/c1")
    assert missing.status_code == 401
    assert missing.json()["error"]["field"] == "authorization"
    unknown = client.get("/api/v1/customers/c1", headers={"authorization": "Bearer uo_r_x_y"})
    assert unknown.status_code == 401
    write_key = key(client, "write")
    assert client.get("/api/v1/customers/c1", headers=write_key).status_code == 403
    admin = key(client, "admin")
    assert client.get("/api/v1/customers/c1", headers=admin).status_code == 200
    read = key(client, "read")
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with unit_of_work(hub.engine) as session:
        auth.revoke_key(session, "_".join(read["authorization"].split()[1].split("_")[:3]))
    revoked = client.get("/api/v1/customers/c1", headers=read)
    assert revoked.status_code == 403 and "revoked" in revoked.json()["error"]["message"]
    absent = client.get("/api/v1/customers/zzz", headers=admin)
    assert absent.status_code == 404
    assert absent.json()["error"] == {
        "code": "not_found",
        "message": "no customer 'zzz'",
        "field": "customer_id",
    }
    bad = client.get("/api/v1/customers", params={"limit": 0}, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "limit"


def test_keys_are_stored_hashed(client: TestClient) -> None:
    headers = key(client, "read")
    secret = headers["authorization"].split()[1]
    hub = client.app.state.hub  # type: ignore[attr-defined]
    import sqlalchemy as sa

    with hub.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT prefix, key_hash FROM api_keys")).all()
    assert all(secret not in (prefix, digest) for prefix, digest in stored)
