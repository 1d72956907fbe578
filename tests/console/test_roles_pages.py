"""The users page and the audit page through the console (TestClient on the whole app)."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from tests.console.conftest import csrf_of


def _post_users(client: TestClient, **data: str) -> object:
    token = csrf_of(client.get("/users").text)
    return client.post("/users", data={**data, "csrf": token}, follow_redirects=False)


def test_invite_role_reset_disable_and_the_audit_page(signed_in: TestClient) -> None:
    client = signed_in
    invited = _post_users(client, action="invite", username="lin", role="analyst")
    assert invited.status_code == 200  # type: ignore[attr-defined]
    shown = re.search(r'id="one-time-password">.*?<code>([^<]+)</code>', invited.text, re.S)  # type: ignore[attr-defined]
    assert shown and len(shown.group(1)) >= 12
    refused = _post_users(client, action="invite", username="bad name", role="analyst")
    assert refused.status_code == 422 and "user name" in refused.text  # type: ignore[attr-defined]
    changed = _post_users(client, action="role", username="lin", role="operator")
    assert changed.status_code == 303  # type: ignore[attr-defined]
    page = client.get("/users").text
    row = re.search(r'<tr data-user="lin">(.*?)</tr>', page, re.S)
    assert row and '<option value="operator" selected>' in row.group(1)
    _post_users(client, action="reset", username="lin")
    _post_users(client, action="disable", username="lin")
    assert "已停用" in client.get("/users").text or "Disabled" in client.get("/users").text

    audit = client.get("/audit", params={"target": "lin"})
    assert audit.status_code == 200
    actions = re.findall(r'<tr data-action="([^"]+)">', audit.text)
    assert actions == ["user.disable", "user.reset_password", "user.set_role", "user.create"]
    exported = client.get("/audit.csv", params={"action": "user.set_role"})
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["actor"], r["target"], r["before"], r["after"]) for r in rows] == [
        ("admin", "lin", '{"role": "analyst"}', '{"role": "operator"}')
    ]
    # the admin's own sign-in is there too, and a bad date is refused with a message
    assert "auth.login" in client.get("/audit", params={"action": "auth.login"}).text
    assert client.get("/audit", params={"since": "2026-13-01"}).status_code == 422
