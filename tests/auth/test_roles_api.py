"""Roles and the audit log through the HTTP API, on SQLite and PostgreSQL.

The expected allow/deny table is written out here from issue 11's item 7 (owner/admin:
settings, keys, users; operator: segments, tags refresh, …; analyst: read and export; service
agent: customers, consent, manual tags), not read from ``auth.roles``."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import write

from userops.auth import service as auth
from userops.config import Settings
from userops.hub import connect
from userops.ingest.service import import_file
from userops.ledger import unit_of_work
from userops.server import create_app

ROLES = ("owner", "admin", "operator", "analyst", "service_agent")
PASSWORD = "roles-test-password"


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
                "o1,c1,2025-01-01,2025-01-01,paid,1000\n",
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


def _engine(client: TestClient) -> Any:
    return client.app.state.hub.engine  # type: ignore[attr-defined]


def user_key(client: TestClient, role: str, *, scope: str = "admin") -> tuple[str, dict[str, str]]:
    """A console user with ``role`` and an admin-scope key of theirs (the role is the limit)."""
    name = f"{role.replace('_', '-')}-{scope}"
    with unit_of_work(_engine(client)) as session:
        if not auth.exists(session, name):
            auth.add_user(session, username=name, role=role, password=PASSWORD)
        created = auth.create_key(session, scope=scope, user=name)
    return created.prefix, {"authorization": f"Bearer {created.key}"}


def service_key(client: TestClient, scope: str) -> dict[str, str]:
    with unit_of_work(_engine(client)) as session:
        created = auth.create_key(session, scope=scope, name="etl")
    return {"authorization": f"Bearer {created.key}"}


RULE = {"orders": "count", "op": ">=", "value": 1}

# (what, method, path, json body, roles that may) — from the role descriptions.
MATRIX: list[tuple[str, str, str, Any, set[str]]] = [
    ("read customer", "GET", "/api/v1/customers/c1", None, set(ROLES)),
    ("list segments", "GET", "/api/v1/segments", None, {"owner", "admin", "operator", "analyst"}),
    ("tag counts", "GET", "/api/v1/tags/counts", None, {"owner", "admin", "operator", "analyst"}),
    (
        "save segment",
        "PUT",
        "/api/v1/segments/s-{role}",
        {"rule": RULE},
        {"owner", "admin", "operator"},
    ),
    ("refresh tags", "POST", "/api/v1/tags/refresh", None, {"owner", "admin", "operator"}),
    (
        "manual tag",
        "POST",
        "/api/v1/tags/manual/vip",
        {"customer_ids": ["c1"]},
        {"owner", "admin", "operator", "service_agent"},
    ),
    (
        "consent",
        "POST",
        "/api/v1/customers/c2/consents",
        {"channel": "sms", "status": "withdrawn", "source": "call"},
        {"owner", "admin", "operator", "service_agent"},
    ),
    ("list users", "GET", "/api/v1/users", None, {"owner", "admin"}),
    ("list keys", "GET", "/api/v1/keys", None, {"owner", "admin"}),
    ("read audit", "GET", "/api/v1/audit", None, {"owner", "admin"}),
    ("erase", "DELETE", "/api/v1/customers/nobody", None, {"owner", "admin"}),  # 404 if allowed
]


def test_each_role_is_allowed_exactly_its_actions(client: TestClient) -> None:
    keys = {role: user_key(client, role)[1] for role in ROLES}
    for what, method, path, body, allowed in MATRIX:
        for role in ROLES:
            response = client.request(method, path.format(role=role), headers=keys[role], json=body)
            if role in allowed:
                assert response.status_code in (200, 201, 404), (what, role, response.text)
            else:
                assert response.status_code == 403, (what, role, response.text)
                error = response.json()["error"]
                assert error["code"] == "forbidden" and error["field"] == "authorization"
                # the body names the permission needed and the roles that have it
                assert "needs permission" in error["message"], error
                for other in allowed:
                    assert other in error["message"], (what, other, error)


def test_a_key_can_do_no_more_than_its_scope_nor_its_user(client: TestClient) -> None:
    _, owner_read = user_key(client, "owner", scope="read")
    assert client.get("/api/v1/segments", headers=owner_read).status_code == 200
    denied = client.put("/api/v1/segments/x", headers=owner_read, json={"rule": RULE})
    assert denied.status_code == 403
    # a service key (no user) with the admin scope may manage users
    assert client.get("/api/v1/users", headers=service_key(client, "admin")).status_code == 200
    assert client.get("/api/v1/users", headers=service_key(client, "read")).status_code == 403
    # write keys only ingest
    assert client.get("/api/v1/segments", headers=service_key(client, "write")).status_code == 403


def test_user_admin_over_the_api_is_audited_and_ends_sessions(client: TestClient) -> None:
    prefix, admin = user_key(client, "admin")
    made = client.post("/api/v1/users", headers=admin, json={"username": "dora", "role": "analyst"})
    assert made.status_code == 201, made.text
    one_time = made.json()["password"]
    assert made.json()["user"]["role"] == "analyst" and len(one_time) >= 12

    # dora signs in to the console with the one-time password
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    signed = client.post(
        "/login",
        data={"username": "dora", "password": one_time, "csrf": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert client.get("/tags", follow_redirects=False).status_code == 200

    bad_role = client.put("/api/v1/users/dora/role", headers=admin, json={"role": "king"})
    assert bad_role.status_code == 400 and bad_role.json()["error"]["field"] == "role"
    changed = client.put("/api/v1/users/dora/role", headers=admin, json={"role": "operator"})
    assert changed.json()["role"] == "operator"

    disabled = client.post("/api/v1/users/dora/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    # her session ended: the console sends her to the login page
    after = client.get("/tags", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    # and she cannot sign in again while disabled
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    again = client.post("/login", data={"username": "dora", "password": one_time, "csrf": token})
    assert again.status_code == 401

    reset = client.post("/api/v1/users/dora/reset-password", headers=admin)
    assert reset.status_code == 200 and reset.json()["password"] != one_time

    log = client.get("/api/v1/audit", headers=admin, params={"target": "dora"}).json()
    actions = [e["action"] for e in log["entries"]]
    # newest first; the console sign-ins (one refused while disabled) are there too
    assert actions == [
        "user.reset_password",
        "auth.login_failed",
        "user.disable",
        "user.set_role",
        "auth.login",
        "user.create",
    ], actions
    by_action = {e["action"]: e for e in log["entries"]}
    assert by_action["user.set_role"]["before"] == {"role": "analyst"}
    assert by_action["user.set_role"]["after"] == {"role": "operator"}
    assert by_action["user.create"]["actor"] == f"admin-admin/{prefix}"
    assert by_action["user.create"]["actor_kind"] == "key"
    assert by_action["auth.login"]["actor_kind"] == "user"
    assert by_action["auth.login"]["actor"] == "dora"
    # no password, generated or not, is in the log
    assert one_time not in json.dumps(log) and reset.json()["password"] not in json.dumps(log)


def test_the_last_owner_stays(client: TestClient) -> None:
    _, owner = user_key(client, "owner")
    # the first admin ("admin", made at start) and owner-admin are both owners
    users = {u["username"]: u for u in client.get("/api/v1/users", headers=owner).json()}
    owners = [name for name, u in users.items() if u["role"] == "owner"]
    for name in owners[:-1]:
        assert client.post(f"/api/v1/users/{name}/disable", headers=owner).status_code == 200
    last = owners[-1]
    refused = client.post(f"/api/v1/users/{last}/disable", headers=owner)
    assert refused.status_code == 409 and "last active owner" in refused.json()["error"]["message"]
    demote = client.put(f"/api/v1/users/{last}/role", headers=owner, json={"role": "analyst"})
    assert demote.status_code == 409


def test_segment_changes_are_audited_with_before_and_after_and_export(client: TestClient) -> None:
    prefix, operator = user_key(client, "operator")
    _, admin = user_key(client, "admin")
    rule2 = {"orders": "count", "op": ">=", "value": 2}
    assert (
        client.put("/api/v1/segments/loyal", headers=operator, json={"rule": RULE}).status_code
        == 200
    )
    assert (
        client.put("/api/v1/segments/loyal", headers=operator, json={"rule": rule2}).status_code
        == 200
    )
    assert client.delete("/api/v1/segments/loyal", headers=operator).status_code == 200

    found = client.get(
        "/api/v1/audit", headers=admin, params={"action": "segment.*", "actor": "operator-admin"}
    ).json()
    assert found["total"] == 3
    delete, update, create = found["entries"]
    assert (create["action"], create["before"], create["after"]["rule"]) == (
        "segment.create",
        None,
        RULE,
    )
    assert (update["action"], update["before"]["rule"], update["after"]["rule"]) == (
        "segment.update",
        RULE,
        rule2,
    )
    assert (delete["action"], delete["before"]["rule"], delete["after"]) == (
        "segment.delete",
        rule2,
        None,
    )
    assert all(
        e["target"] == "loyal" and e["actor"] == f"operator-admin/{prefix}"
        for e in found["entries"]
    )
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["request_id"]) for e in found["entries"])
    # a caller's own request id is kept
    client.put(
        "/api/v1/segments/two",
        headers={**operator, "x-request-id": "req-42"},
        json={"rule": RULE},
    )
    two = client.get("/api/v1/audit", headers=admin, params={"target": "two"}).json()
    assert two["entries"][0]["request_id"] == "req-42"

    # date range: nothing from tomorrow on; everything since an hour ago
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert (
        client.get("/api/v1/audit", headers=admin, params={"since": tomorrow}).json()["total"] == 0
    )
    assert (
        client.get(
            "/api/v1/audit", headers=admin, params={"since": hour_ago, "action": "segment.*"}
        ).json()["total"]
        == 4
    )
    bad = client.get("/api/v1/audit", headers=admin, params={"since": "soon"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "since"
    backwards = client.get(
        "/api/v1/audit", headers=admin, params={"since": tomorrow, "until": hour_ago}
    )
    assert backwards.status_code == 200 and backwards.json()["total"] == 0

    exported = client.get(
        "/api/v1/audit", headers=admin, params={"format": "csv", "target": "loyal"}
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [r["action"] for r in rows] == ["segment.delete", "segment.update", "segment.create"]
    assert json.loads(rows[1]["before"])["rule"] == RULE


def test_personal_data_stays_out_of_the_log(client: TestClient) -> None:
    _, admin = user_key(client, "admin")
    _, agent = user_key(client, "service_agent")
    consent = client.post(
        "/api/v1/customers/c1/consents",
        headers=agent,
        json={"channel": "sms", "status": "withdrawn", "source": "call"},
    )
    assert consent.status_code == 200, consent.text
    erased = client.delete("/api/v1/customers/c1", headers=admin)
    assert erased.status_code == 200, erased.text
    log = client.get("/api/v1/audit", headers=admin).json()
    entry = {e["action"]: e for e in log["entries"]}
    assert entry["customer.consent"]["target"] == "c1"
    assert entry["customer.consent"]["after"] == {
        "channel": "sms",
        "status": "withdrawn",
        "source": "call",
    }
    # the erased person is named only by the keyed hash the erasure keeps
    assert entry["customer.erase"]["target"] == erased.json()["subject"]
    assert entry["customer.erase"]["target"] != "c1"
    text = json.dumps(log, ensure_ascii=False)
    for personal in ("13800000001", "a@x.com", "张三"):
        assert personal not in text


def test_last_used_moves_at_most_once_a_minute(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, analyst = user_key(client, "analyst")
    _, admin = user_key(client, "admin")

    def last_used() -> str | None:
        with unit_of_work(_engine(client)) as session:
            return next(k for k in auth.list_keys(session) if k.prefix == prefix).last_used_at

    assert last_used() is None
    monkeypatch.setenv("USEROPS_NOW", "2026-03-01T10:00:00Z")
    client.get("/api/v1/segments", headers=analyst)
    assert last_used() == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    monkeypatch.setenv("USEROPS_NOW", "2026-03-01T10:00:59Z")
    client.get("/api/v1/segments", headers=analyst)
    assert last_used() == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    monkeypatch.setenv("USEROPS_NOW", "2026-03-01T10:01:00Z")
    client.get("/api/v1/segments", headers=analyst)
    assert last_used() == datetime(2026, 3, 1, 10, 1, tzinfo=UTC)
    keys = {k["prefix"]: k for k in client.get("/api/v1/keys", headers=admin).json()}
    assert keys[prefix]["user"] == "analyst-admin" and keys[prefix]["role"] == "analyst"
    assert keys[prefix]["last_used_at"].startswith("2026-03-01T10:01")


def test_a_disabled_users_keys_stop_working(client: TestClient) -> None:
    _, admin = user_key(client, "admin")
    _, operator = user_key(client, "operator")
    assert client.get("/api/v1/segments", headers=operator).status_code == 200
    assert client.post("/api/v1/users/operator-admin/disable", headers=admin).status_code == 200
    refused = client.get("/api/v1/segments", headers=operator)
    assert refused.status_code == 403 and "disabled" in refused.json()["error"]["message"]
