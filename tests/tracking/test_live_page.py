"""The live debugger page: latest events with their payload, and stats per write key."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.console.conftest import PASSWORD, csrf_of
from tests.tracking.conftest import make_keys

from userops.auth.service import ensure_first_admin
from userops.config import Settings
from userops.ledger import engine_from, migrate, unit_of_work
from userops.server import create_app


def test_live_page_streams_events_and_counts_per_key(sqlite_settings: Settings) -> None:
    keys = make_keys(sqlite_settings)
    engine = engine_from(sqlite_settings)
    migrate(engine)
    with unit_of_work(engine) as session:
        ensure_first_admin(session, password=PASSWORD)
    engine.dispose()
    with TestClient(create_app(sqlite_settings)) as api:
        assert api.get("/live", follow_redirects=False).status_code == 303  # signed out
        page = api.get("/login")
        api.post(
            "/login", data={"username": "admin", "password": PASSWORD, "csrf": csrf_of(page.text)}
        )
        empty = api.get("/live")
        assert empty.status_code == 200 and 'hx-get="/live/feed"' in empty.text
        auth = (keys.write, "")
        body = {
            "userId": "u-live",
            "event": "Coupon Clicked",
            "messageId": "L1",
            "properties": {"coupon": "满100减20"},
        }
        for _ in range(2):
            assert api.post("/v1/track", json=body, auth=auth).status_code == 200
        assert api.post("/v1/track", json={"userId": "u"}, auth=auth).status_code == 400
        feed = api.get("/live/feed", headers={"hx-request": "true"})
        assert "Coupon Clicked" in feed.text and "u-live" in feed.text
        prefix = "_".join(keys.write.split("_", 3)[:3])
        row = re.search(rf"<code>{prefix}</code>\s*</td>(.*?)</tr>", feed.text, re.S)
        assert row, feed.text
        numbers = re.findall(r'<td class="num">([\d,]+)</td>', row.group(1))
        assert numbers == ["1", "1", "1", "1", "0"]  # per minute, accepted, dup, rejected, 429
        seq = re.search(r'hx-get="/live/event/(\d+)"', feed.text)
        assert seq
        payload = api.get(f"/live/event/{seq.group(1)}", headers={"hx-request": "true"})
        assert "满100减20" in payload.text and "&#34;message_id&#34;: &#34;L1&#34;" in payload.text
        assert api.get("/live/event/999999").status_code == 404


def test_live_page_says_why_an_order_was_refused_and_what_the_loader_rejected(
    sqlite_settings: Settings,
) -> None:
    keys = make_keys(sqlite_settings)
    engine = engine_from(sqlite_settings)
    migrate(engine)
    with unit_of_work(engine) as session:
        ensure_first_admin(session, password=PASSWORD)
    engine.dispose()
    with TestClient(create_app(sqlite_settings)) as api:
        page = api.get("/login")
        api.post(
            "/login", data={"username": "admin", "password": PASSWORD, "csrf": csrf_of(page.text)}
        )
        body = {
            "userId": "u-yen",
            "event": "Order Completed",
            "messageId": "Y1",
            "properties": {"order_id": "Y-1", "total": "¥1,299.00"},
        }
        assert api.post("/v1/track", json=body, auth=(keys.write, "")).status_code == 200
        tracker = api.app.state.tracker  # type: ignore[attr-defined]
        # a line an older server (or a disk fault) left unreadable: refused alone, not blocking
        tracker.journal.append_wait(b'{"message_id": "torn", "type": \n', 1)
        assert tracker.load_pending() == 1
        feed = api.get("/live/feed", headers={"hx-request": "true"}).text
        refused = re.search(r'<span class="field-error order-refused">(.*?)</span>', feed, re.S)
        assert refused, feed
        assert "properties.total: not an amount in yuan" in refused.group(1)
        assert "¥1,299.00" in refused.group(1)
        rejects = re.search(r'<p class="hint field-error" id="live-rejects">(.*?)</p>', feed, re.S)
        assert rejects and "1 — " in rejects.group(1), feed
        assert str(sqlite_settings.resolved_data_dir / "rejects") in rejects.group(1)
