"""The Segment-compatible tracking API in the server app: auth, limits, dedupe, identity
stitching, profiles and orders (ledger on SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from tests.tracking.conftest import Keys, load, make_keys, rows

from userops.config import Settings
from userops.customers import service as customers
from userops.ledger import unit_of_work
from userops.server import create_app


def test_every_call_and_every_way_to_give_the_key(api: TestClient, keys: Keys) -> None:
    basic = {"auth": (keys.write, "")}
    bearer = {"headers": {"authorization": f"Bearer {keys.write}"}}
    calls = [
        ("track", {"userId": "u1", "event": "Viewed", "messageId": "t1"}, basic),
        (
            "identify",
            {"userId": "u1", "messageId": "t2", "context": {"traits": {"plan": "pro"}}},
            bearer,
        ),  # RudderStack puts traits in the context
        ("page", {"anonymousId": "a1", "name": "home", "messageId": "t3"}, basic),
        ("screen", {"anonymousId": "a1", "name": "cart", "messageId": "t4"}, basic),
        ("group", {"userId": "u1", "groupId": "g1", "messageId": "t5"}, basic),
        ("alias", {"userId": "u1", "previousId": "old", "messageId": "t6"}, basic),
    ]
    for call, body, how in calls:
        response = api.post(f"/v1/{call}", json=body, **how)  # type: ignore[arg-type]
        assert response.status_code == 200, (call, response.text)
        assert response.json() == {"success": True}
    in_body = {
        "writeKey": keys.write,
        "batch": [{"type": "track", "userId": "u2", "event": "E", "messageId": "t7"}],
    }
    assert api.post("/v1/batch", json=in_body).status_code == 200
    zipped = gzip.compress(
        orjson.dumps(
            {"batch": [{"type": "track", "userId": "u2", "event": "Z", "messageId": "t8"}]}
        )
    )
    response = api.post(
        "/v1/import",
        content=zipped,
        auth=(keys.write, ""),
        headers={"content-encoding": "gzip", "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert load(api) == 8
    stored = dict(rows(api, "SELECT message_id, type FROM events"))
    assert stored == {
        "t1": "track",
        "t2": "identify",
        "t3": "page",
        "t4": "screen",
        "t5": "group",
        "t6": "alias",
        "t7": "track",
        "t8": "track",
    }
    assert rows(api, "SELECT name FROM events WHERE message_id = 't4'") == [("cart",)]
    traits = rows(api, "SELECT traits->>'plan' FROM events WHERE message_id = 't2'")
    assert traits == [("pro",)]
    group = rows(api, "SELECT properties->>'groupId' FROM events WHERE message_id = 't5'")
    assert group == [("g1",)]


def test_keys_scopes_and_revocation(api: TestClient, keys: Keys) -> None:
    body = {"userId": "u1", "event": "E"}
    assert api.post("/v1/track", json=body).status_code == 401
    unknown = api.post("/v1/track", json=body, auth=("uo_w_deadbeef_nope", ""))
    assert unknown.status_code == 401 and unknown.json()["error"]["field"] == "authorization"
    assert api.post("/v1/track", json=body, auth=(keys.revoked, "")).status_code == 403
    assert api.post("/v1/track", json=body, auth=(keys.read, "")).status_code == 403
    assert api.post("/v1/track", json=body, auth=(keys.write, "")).status_code == 200
    # and the write key may only ingest
    found = api.get("/api/v1/customers", headers={"authorization": f"Bearer {keys.write}"})
    assert found.status_code == 403


@pytest.mark.parametrize(
    ("call", "body", "field"),
    [
        ("track", {"event": "E"}, "track.userId"),
        ("track", {"userId": "u1"}, "track.event"),
        ("track", {"userId": "u1", "event": "E", "messageId": "x" * 100}, "track.messageId"),
        ("track", {"userId": "u1", "event": "E", "timestamp": "yesterday"}, "track.timestamp"),
        ("track", {"userId": "u1", "event": "E", "properties": [1]}, "track.properties"),
        ("alias", {"userId": "u1"}, "alias.previousId"),
        ("group", {"userId": "u1"}, "group.groupId"),
        ("batch", {"batch": "no"}, "batch"),
        ("batch", {"batch": [{"type": "nope", "userId": "u"}]}, "batch[0].type"),
        ("track", {"userId": "u1", "event": "E", "properties": {"x": "y" * 32_600}}, "track"),
        # ids: at most 128 characters, no control character, not blank
        ("track", {"userId": "u" * 129, "event": "E"}, "track.userId"),
        ("track", {"userId": "   ", "event": "E"}, "track.userId"),
        ("track", {"anonymousId": "a\u0000b", "event": "E"}, "track.anonymousId"),
        ("track", {"userId": "u", "event": "E", "messageId": "m\u0000"}, "track.messageId"),
        ("alias", {"userId": "u1", "previousId": "p" * 129}, "alias.previousId"),
        ("group", {"userId": "u1", "groupId": "g\n1"}, "group.groupId"),
        (
            "batch",
            {
                "batch": [{"type": "track", "userId": "u", "event": "E"}] * 3
                + [{"type": "identify", "userId": "u", "traits": {"phone": "1" * 500}}]
            },
            "batch[3].traits.phone",
        ),
        (
            "identify",
            {"userId": "u", "traits": {"address": {"city": "c" * 65}}},
            "identify.traits.address.city",
        ),
        ("identify", {"userId": "u", "traits": {"name": "n\u0000"}}, "identify.traits.name"),
        (
            "track",
            {"userId": "u", "event": "Signed Up", "context": {"campaign": {"source": "s" * 65}}},
            "track.context.campaign.source",
        ),
        # times at the ends of the range (the skew correction used to overflow: 500)
        (
            "track",
            {
                "userId": "u",
                "event": "E",
                "timestamp": "0001-01-01T00:00:00Z",
                "sentAt": "9999-12-31T23:59:59Z",
            },
            "track.timestamp",
        ),
        ("track", {"userId": "u", "event": "E", "sentAt": "9999-12-31T23:59:59Z"}, "track.sentAt"),
        (
            "track",
            {"userId": "u", "event": "E", "originalTimestamp": "0001-01-01T00:00:00Z"},
            "track.originalTimestamp",
        ),
        ("track", {"userId": "u", "event": "E", "timestamp": 1e20}, "track.timestamp"),
        (
            "batch",
            {
                "sentAt": "0001-01-01T00:00:00Z",
                "batch": [{"type": "track", "userId": "u", "event": "E"}],
            },
            "sentAt",
        ),
        (
            "track",
            {
                "userId": "u",
                "event": "E",
                "timestamp": "1970-01-01T00:00:05Z",
                "sentAt": "2199-12-31T00:00:00Z",
            },
            "track.timestamp",
        ),  # each in range, but the corrected time is not
    ],
)
def test_bad_calls_name_the_field(
    sqlite_settings: Settings, call: str, body: dict[str, object], field: str
) -> None:
    keys = make_keys(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as api:
        response = api.post(f"/v1/{call}", json=body, auth=(keys.write, ""))
        assert response.status_code == 400, response.text
        assert response.json()["error"]["field"] == field
        assert load(api) == 0


def test_a_bad_batch_is_refused_whole_and_limits_hold(sqlite_settings: Settings) -> None:
    keys = make_keys(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as api:
        good = {"type": "track", "userId": "u1", "event": "E"}
        batch = [dict(good, messageId=f"g{i}") for i in range(5)]
        batch.insert(3, {"type": "track", "userId": "u1"})
        response = api.post("/v1/batch", json={"batch": batch}, auth=(keys.write, ""))
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "batch[3].event"
        too_many = {"batch": [dict(good, messageId=f"m{i}") for i in range(2_501)]}
        response = api.post("/v1/batch", json=too_many, auth=(keys.write, ""))
        assert response.status_code == 400 and "2500" in response.json()["error"]["message"]
        padding = "p" * 20_000
        too_big = {
            "batch": [dict(good, messageId=f"b{i}", properties={"p": padding}) for i in range(30)]
        }
        response = api.post("/v1/batch", json=too_big, auth=(keys.write, ""))
        assert response.status_code == 413 and response.json()["error"]["field"] == "body"
        bad_json = api.post("/v1/track", content=b"{nope", auth=(keys.write, ""))
        assert bad_json.status_code == 400 and bad_json.json()["error"]["field"] == "body"
        assert load(api) == 0
        assert rows(api, "SELECT count(*) FROM events") == [(0,)]
        stats = api.app.state.tracker.stats.snapshot()  # type: ignore[attr-defined]
        assert stats[0]["rejected"] == 6 + 2_501 + 1 + 1  # a body too big or not JSON: 1


def test_message_ids_dedupe_in_the_window_and_in_the_warehouse(
    sqlite_settings: Settings,
) -> None:
    keys = make_keys(sqlite_settings)
    event = {"userId": "u1", "event": "Clicked", "messageId": "dup-1"}
    with TestClient(create_app(sqlite_settings)) as api:
        for _ in range(3):
            assert api.post("/v1/track", json=event, auth=(keys.write, "")).status_code == 200
        assert load(api) == 1
        stats = api.app.state.tracker.stats.snapshot()  # type: ignore[attr-defined]
        assert (stats[0]["accepted"], stats[0]["duplicates"]) == (1, 2)
    # a new process has an empty window: the warehouse refuses the copy
    with TestClient(create_app(sqlite_settings)) as api:
        assert api.post("/v1/track", json=event, auth=(keys.write, "")).status_code == 200
        assert load(api) == 0
        assert rows(api, "SELECT count(*) FROM events WHERE message_id = 'dup-1'") == [(1,)]


def test_clock_skew_is_corrected_from_sent_at(sqlite_settings: Settings) -> None:
    keys = make_keys(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as api:
        body = {
            "batch": [
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "E",
                    "messageId": "s1",
                    "timestamp": "2030-01-01T00:00:00Z",
                }
            ],
            "sentAt": "2030-01-01T00:00:30Z",
        }  # the device clock is years ahead
        assert api.post("/v1/batch", json=body, auth=(keys.write, "")).status_code == 200
        load(api)
        (skew,) = rows(api, "SELECT epoch(received_at) - epoch(timestamp) FROM events")[0]
        assert 29.9 < float(skew) < 30.1  # happened 30 s before the device sent it


def test_rate_limit_answers_429_with_retry_after(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USEROPS_TRACKING_RATE_LIMIT", "5")
    monkeypatch.setenv("USEROPS_TRACKING_BURST", "10")
    keys = make_keys(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as api:
        batch = {"batch": [{"type": "track", "userId": "u", "event": "E"} for _ in range(10)]}
        assert api.post("/v1/batch", json=batch, auth=(keys.write, "")).status_code == 200
        limited = api.post("/v1/batch", json=batch, auth=(keys.write, ""))
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        assert load(api) == 10


ANON_FIRST = [
    {
        "type": "page",
        "anonymousId": "anon-7",
        "name": "home",
        "messageId": "p1",
        "context": {"campaign": {"source": "douyin", "medium": "social"}},
    },
    {
        "type": "track",
        "anonymousId": "anon-7",
        "event": "Product Viewed",
        "messageId": "p2",
        "properties": {"product_id": "sku-1", "price": 99.9},
    },
    {
        "type": "track",
        "anonymousId": "anon-7",
        "event": "Product Added",
        "messageId": "p3",
        "properties": {"product_id": "sku-1", "price": 99.9, "quantity": 2},
    },
]
LINKED = [
    {
        "type": "identify",
        "anonymousId": "anon-7",
        "userId": "shop-42",
        "messageId": "p4",
        "traits": {
            "name": "王小明",
            "email": "wxm@example.com",
            "phone": "13800001111",
            "gender": "male",
            "birthday": "1990-05-01",
            "createdAt": "2023-02-01T08:00:00Z",
            "address": {"city": "杭州市", "state": "浙江省"},
            "plan": "gold",
            "vip": True,
        },
    },
    {
        "type": "track",
        "userId": "shop-42",
        "event": "Signed Up",
        "messageId": "p5",
        "timestamp": "2024-03-01T02:00:00Z",
        "context": {"campaign": {"source": "xiaohongshu"}},
    },
    {
        "type": "track",
        "userId": "shop-42",
        "event": "Order Completed",
        "messageId": "p6",
        "timestamp": "2024-03-02T02:00:00Z",
        "context": {"campaign": {"source": "douyin"}},
        "properties": {
            "order_id": "T-1",
            "total": 199.8,
            "discount": 10.05,
            "coupon": "NEW10",
            "products": [
                {
                    "product_id": "sku-1",
                    "name": "茶",
                    "category": "drinks",
                    "price": 99.9,
                    "quantity": 2,
                }
            ],
        },
    },
    {
        "type": "track",
        "userId": "shop-42",
        "event": "Order Completed",
        "messageId": "p7",
        "timestamp": "2024-03-03T02:00:00Z",
        "properties": {"order_id": "T-2", "total": "5.55"},
    },
    {
        "type": "track",
        "userId": "shop-42",
        "event": "Order Refunded",
        "messageId": "p8",
        "timestamp": "2024-03-04T02:00:00Z",
        "properties": {"order_id": "T-2"},
    },
    {"type": "alias", "previousId": "guest-9", "userId": "shop-42", "messageId": "p9"},
]


def test_stitching_profiles_and_orders(api: TestClient, keys: Keys, settings: Settings) -> None:
    auth = (keys.write, "")
    assert api.post("/v1/batch", json={"batch": ANON_FIRST}, auth=auth).status_code == 200
    assert (
        api.post(
            "/v1/track",
            json={"userId": "guest-9", "event": "Browsed", "messageId": "p0"},
            auth=auth,
        ).status_code
        == 200
    )
    assert load(api) == 4
    assert api.post("/v1/batch", json={"batch": LINKED}, auth=auth).status_code == 200
    assert load(api) == 6
    hub = api.app.state.hub  # type: ignore[attr-defined]
    with unit_of_work(hub.engine) as session:
        view = customers.customer_360(session, hub.warehouse, "shop-42")
        assert customers.resolve(session, user_id=None, anonymous_id="anon-7") == "shop-42"
        assert customers.resolve(session, user_id="guest-9", anonymous_id=None) == "shop-42"
    profile = view.profile
    assert (profile.name, profile.gender, str(profile.birthday)) == ("王小明", "male", "1990-05-01")
    assert (profile.province, profile.city) == ("浙江省", "杭州市")
    assert profile.signup_at is not None and profile.signup_at.isoformat().startswith("2024-03-01")
    assert profile.signup_channel == "xiaohongshu"
    assert profile.attributes == {"plan": "gold", "vip": True}
    assert {c.kind: c.value for c in view.contact_points} == {
        "phone": "13800001111",
        "email": "wxm@example.com",
    }
    assert {(m.from_kind, m.from_value, m.reason) for m in view.merges} == {
        ("anonymous_id", "anon-7", "identify"),
        ("user_id", "guest-9", "alias"),
    }
    # the anonymous events from before the identify belong to the customer now
    assert {"p1", "p2", "p3", "p0"} <= {e.message_id for e in view.recent_events}
    orders = rows(
        api,
        "SELECT order_id, customer_id, status, amount_fen, discount_fen, "
        "coupon_codes, channel FROM orders ORDER BY order_id",
    )
    assert orders == [
        ("T-1", "shop-42", "paid", 19980, 1005, ["NEW10"], "douyin"),
        ("T-2", "shop-42", "refunded", 555, 0, None, None),
    ]
    items = rows(
        api, "SELECT order_id, sku, product_name, category, quantity, price_fen FROM order_items"
    )
    assert items == [("T-1", "sku-1", "茶", "drinks", 2, 9990)]
    assert view.totals.orders == 1 and view.totals.paid_fen == 19980
    utm = rows(api, "SELECT context->'campaign'->>'medium' FROM events WHERE message_id = 'p1'")
    assert utm == [("social",)]
    # replaying the same calls (SDK retries after a restart) changes nothing
    assert api.post("/v1/batch", json={"batch": LINKED}, auth=auth).status_code == 200
    assert load(api) == 0
    assert rows(api, "SELECT count(*) FROM orders") == [(2,)]
    with unit_of_work(hub.engine) as session:
        assert len(customers.merges(session, "shop-42")) == 2


@pytest.fixture
def live_api(sqlite_settings: Settings) -> Iterator[tuple[TestClient, Keys]]:
    keys = make_keys(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as api:
        yield api, keys


def test_graceful_stop_loads_the_journal(sqlite_settings: Settings, tmp_path: Path) -> None:
    keys = make_keys(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as api:
        batch = [
            {"type": "track", "userId": f"u{i}", "event": "E", "messageId": f"q{i}"}
            for i in range(50)
        ]
        assert (
            api.post("/v1/batch", json={"batch": batch}, auth=(keys.write, "")).status_code == 200
        )
    with TestClient(create_app(sqlite_settings)) as api:
        assert rows(api, "SELECT count(*) FROM events") == [(50,)]
        checkpoint = json.loads(
            (sqlite_settings.resolved_data_dir / "tracking" / "checkpoint.json").read_text()
        )
        assert checkpoint["imported"] == 50


def test_analytics_js_short_paths_and_cors(sqlite_settings: Settings) -> None:
    keys = make_keys(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as api:
        preflight = api.options("/v1/t", headers={"origin": "https://shop.example.com"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "*"
        # analytics.js posts text/plain with the write key in the body (no preflight needed)
        body = {
            "writeKey": keys.write,
            "type": "track",
            "event": "Added",
            "anonymousId": "b1",
            "messageId": "js-1",
            "context": {"page": {"path": "/cart"}},
        }
        response = api.post(
            "/v1/t", content=orjson.dumps(body), headers={"content-type": "text/plain"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == "*"
        page = {
            "writeKey": keys.write,
            "anonymousId": "b1",
            "messageId": "js-2",
            "properties": {"name": "Cart", "path": "/cart"},
        }
        assert api.post("/v1/p", json=page).status_code == 200
        assert load(api) == 2
        assert rows(api, "SELECT type, coalesce(event, name) FROM events ORDER BY message_id") == [
            ("track", "Added"),
            ("page", "Cart"),
        ]
        refused = api.post("/v1/t", json={"writeKey": keys.write, "anonymousId": "b1"})
        assert refused.status_code == 400
        assert refused.headers["access-control-allow-origin"] == "*"


def _nested(depth: int) -> bytes:
    """A JSON object ``depth`` levels deep."""
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize(
    ("call", "body", "field"),
    [
        (
            "track",
            b'{"userId":"u","event":"E","properties":' + _nested(65) + b"}",
            "track.properties",
        ),
        ("identify", b'{"userId":"u","traits":' + _nested(65) + b"}", "identify.traits"),
        (
            "batch",
            b'{"batch":[{"type":"track","userId":"u","event":"E"},{"type":"track","userId":"u",'
            b'"event":"E","context":{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}}]}",
            "batch[1].context",
        ),
        ("batch", b'{"context":' + _nested(65) + b',"batch":[]}', "context"),
    ],
)
def test_json_nested_too_deep_is_refused_naming_the_field(
    sqlite_settings: Settings, call: str, body: bytes, field: str
) -> None:
    keys = make_keys(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as api:
        response = api.post(f"/v1/{call}", content=body, auth=(keys.write, ""))
        assert response.status_code == 400, response.text
        assert response.json()["error"]["field"] == field
        assert "64 levels" in response.json()["error"]["message"]
        ok = b'{"userId":"u","event":"E","messageId":"deep-ok","properties":' + _nested(64) + b"}"
        assert api.post("/v1/track", content=ok, auth=(keys.write, "")).status_code == 200
        assert load(api) == 1


BAD_MONEY = {
    "m-abc": {"total": "abc"},
    "m-yen": {"total": "¥1,299.00"},
    "m-huge": {"total": 1e20},
    "m-negative": {"total": -5},
    "m-3-decimals": {"revenue": "10.005"},
    "m-discount": {"total": 10, "discount": "free"},
    "m-price": {"total": 10, "products": [{"sku": "s1", "price": "abc", "quantity": 1}]},
    "m-quantity": {"total": 10, "products": [{"sku": "s1", "price": 5, "quantity": 0.5}]},
}


def test_tracked_orders_follow_the_money_rules(api: TestClient, keys: Keys) -> None:
    """Bad amounts: the event is kept, the order is refused, and the live entry says why."""
    batch = [
        {
            "type": "track",
            "userId": "buyer",
            "event": "Order Completed",
            "messageId": message_id,
            "properties": {"order_id": f"O-{message_id}", **money},
        }
        for message_id, money in BAD_MONEY.items()
    ]
    batch.append(
        {
            "type": "track",
            "userId": "buyer",
            "event": "Order Completed",
            "messageId": "m-good",
            "properties": {
                "order_id": "O-good",
                "total": "1299.00",
                "products": [{"sku": "s1", "price": 1299, "quantity": 1}],
            },
        }
    )
    assert api.post("/v1/batch", json={"batch": batch}, auth=(keys.write, "")).status_code == 200
    assert load(api) == len(batch)  # every event is kept
    assert rows(api, "SELECT order_id, status, amount_fen FROM orders") == [
        ("O-good", "paid", 129_900)
    ]
    assert rows(api, "SELECT order_id, price_fen FROM order_items") == [("O-good", 129_900)]
    tracker = api.app.state.tracker  # type: ignore[attr-defined]
    reasons = {e["message_id"]: e.get("order_refused") for _, e in tracker.recent.latest(50)}
    assert reasons["m-good"] is None
    expected_field = {
        "m-abc": "properties.total",
        "m-yen": "properties.total",
        "m-huge": "properties.total",
        "m-negative": "properties.total",
        "m-3-decimals": "properties.revenue",
        "m-discount": "properties.discount",
        "m-price": "properties.products[0].price",
        "m-quantity": "properties.products[0].quantity",
    }
    assert {k: (v or "").split(":")[0] for k, v in reasons.items() if k != "m-good"} == (
        expected_field
    )
