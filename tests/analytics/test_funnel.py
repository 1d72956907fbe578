"""Funnels on hand-made people whose conversions are known."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from userops.analytics.funnel import (
    FunnelQuery,
    funnel,
    funnel_dropped,
    parse_step,
    parse_window,
)
from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.hub import Hub, connect

TZ = "Asia/Shanghai"

# (id, event, user_id, anonymous_id, local time, properties)
EVENTS = [
    # a: view → cart 1h later → order (paid) 2h after the view: converts fully
    ("1", "product_view", "a", None, "2026-03-01 10:00", '{"category": "beauty"}'),
    ("2", "add_to_cart", "a", None, "2026-03-01 11:00", "{}"),
    # b: views anonymously (linked to b), carts 3 days later, never orders
    ("3", "product_view", None, "anon-b", "2026-03-02 09:00", '{"category": "food"}'),
    ("4", "add_to_cart", "b", None, "2026-03-05 09:00", "{}"),
    # c: carts before viewing (does not count), views, carts after the 7-day window
    ("5", "add_to_cart", "c", None, "2026-03-02 08:00", "{}"),
    ("6", "product_view", "c", None, "2026-03-02 09:00", '{"category": "beauty"}'),
    ("7", "add_to_cart", "c", None, "2026-03-10 09:00", "{}"),
    # d: views only, before the date range (enters nothing) and in it
    ("8", "product_view", "d", None, "2026-02-20 09:00", "{}"),
    ("9", "product_view", "d", None, "2026-03-03 23:59", "{}"),
]
ORDERS = [
    ("o1", "a", "2026-03-01 12:00", "paid"),
    ("o2", "b", "2026-03-01 12:00", "paid"),
    ("o3", "c", "2026-03-02 10:00", "refunded"),
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("funnel") / "d"
    with connect(Settings(data_dir=Path(data))) as opened, opened.warehouse.write() as cur:
        for cid in "abcd":
            cur.execute(
                "INSERT INTO customers (customer_id, signup_at, placeholder, signup_channel) "
                "VALUES (?, '2026-01-01 00:00+08', false, ?)",
                [cid, "search" if cid in "ab" else "douyin"],
            )
        cur.execute("INSERT INTO identities VALUES ('anonymous_id', 'anon-b', 'b')")
        for mid, name, uid, anon, at, props in EVENTS:
            cur.execute(
                "INSERT INTO events (message_id, type, event, user_id, anonymous_id, timestamp, "
                "received_at, properties) VALUES (?, 'track', ?, ?, ?, ?::TIMESTAMP AT TIME ZONE "
                "'Asia/Shanghai', now(), ?)",
                [mid, name, uid, anon, at, props],
            )
        for oid, cid, at, status in ORDERS:
            cur.execute(
                "INSERT INTO orders (order_id, customer_id, created_at, paid_at, status, "
                "amount_fen, discount_fen) VALUES (?, ?, ?::TIMESTAMP AT TIME ZONE "
                "'Asia/Shanghai', ?::TIMESTAMP AT TIME ZONE 'Asia/Shanghai', ?, 100, 0)",
                [oid, cid, at, at, status],
            )
    with connect(Settings(data_dir=Path(data))) as opened:
        yield opened


def query(*steps: str, **kw: object) -> FunnelQuery:
    return FunnelQuery(
        steps=[parse_step(s) for s in steps],
        date_from=date(2026, 3, 1),
        date_to=date(2026, 3, 5),
        **kw,  # type: ignore[arg-type]
    )


def test_people_conversion_and_median_time(hub: Hub) -> None:
    got = funnel(hub.warehouse, timezone=TZ, query=query("product_view", "add_to_cart", "order"))
    assert [s.people for s in got.steps] == [4, 2, 1]  # a b c d; a b; a (b paid before viewing)
    assert [s.dropped for s in got.steps] == [0, 2, 1]
    assert [s.conversion_from_previous for s in got.steps] == [1.0, 0.5, 0.5]
    assert [s.conversion_from_first for s in got.steps] == [1.0, 0.5, 0.25]
    # a: 1 h to cart; b: 3 days → median 1.5 days; order: a 1 h after the cart
    assert got.steps[1].median_seconds_to_convert == (3600 + 3 * 86400) / 2
    assert got.steps[2].median_seconds_to_convert == 3600


def test_window_and_property_filters(hub: Hub) -> None:
    short = funnel(
        hub.warehouse,
        timezone=TZ,
        query=query("product_view", "add_to_cart", window_seconds=parse_window("2d")),
    )
    assert [s.people for s in short.steps] == [4, 1]
    beauty = funnel(
        hub.warehouse, timezone=TZ, query=query("product_view:category=beauty", "add_to_cart")
    )
    assert [s.people for s in beauty.steps] == [2, 1]  # a and c view beauty; c carts too late
    assert beauty.steps[0].step == "product_view:category=beauty"


def test_breakdown_and_dropped_people(hub: Hub) -> None:
    got = funnel(
        hub.warehouse,
        timezone=TZ,
        query=query("product_view", "add_to_cart", breakdown="signup_channel"),
    )
    by = {g.value: [s.people for s in g.steps] for g in got.groups or []}
    assert by == {"search": [2, 2], "douyin": [2, 0]}
    dropped = funnel_dropped(
        hub.warehouse, timezone=TZ, query=query("product_view", "add_to_cart"), step=2
    )
    assert dropped == ["c", "d"]


def test_empty_range_is_zero_not_an_error(hub: Hub) -> None:
    got = funnel(
        hub.warehouse,
        timezone=TZ,
        query=FunnelQuery(
            steps=[parse_step("product_view"), parse_step("order")],
            date_from=date(2020, 1, 1),
            date_to=date(2020, 1, 2),
        ),
    )
    assert [s.people for s in got.steps] == [0, 0]


@pytest.mark.parametrize(
    ("steps", "window", "field", "text"),
    [
        (("product_view", "order"), "7d", "entry", "any, first"),
        (("product_view",), "7d", "step", "2 to 10 steps"),
        (("product_view", "order:amount=1"), "7d", "step", "channel"),
        (("product_view", "order"), "7x", "window", "s, m, h, d or w"),
    ],
)
def test_bad_input(hub: Hub, steps: tuple[str, ...], window: str, field: str, text: str) -> None:
    extra = {"entry": "best"} if field == "entry" else {}
    with pytest.raises(InvalidInput) as info:
        q = query(*steps, window_seconds=parse_window(window), **extra)
        funnel(hub.warehouse, timezone=TZ, query=q)
    assert info.value.field == field and text in info.value.message


def test_a_step_nobody_did_yet_counts_zero_with_a_warning(hub: Hub) -> None:
    got = funnel(hub.warehouse, timezone=TZ, query=query("product_view", "add_to_crt"))
    assert [s.people for s in got.steps] == [4, 0]
    [warning] = got.warnings
    assert "step 2" in warning and "did you mean add_to_cart" in warning


def test_dropped_people_saved_as_a_segment(hub: Hub) -> None:
    from userops.core.errors import InvalidInput as Invalid
    from userops.jobs import ops
    from userops.ledger import unit_of_work
    from userops.segments import service as segments

    params = {
        "steps": ["product_view", "add_to_cart"],
        "date_from": "2026-03-01",
        "date_to": "2026-03-05",
        "dropped_at": 2,
        "save_segment": "no-cart",
    }
    got = ops.run(hub, "analytics.funnel", params, lambda *_: None)
    assert got["saved_segment"] == {"name": "no-cart", "count": 2}
    with unit_of_work(hub.engine) as session:
        assert segments.preview(
            session, hub.warehouse, segments.get(session, "no-cart").rule
        ).sample == ["c", "d"]
    # saving again replaces the list rather than adding to it
    again = ops.run(
        hub, "analytics.funnel", {**params, "steps": ["product_view", "order"]}, lambda *_: None
    )
    assert again["saved_segment"]["count"] == len(again["dropped_people"]) == 3
    with pytest.raises(Invalid, match="needs --dropped-at"):
        ops.run(hub, "analytics.funnel", {**params, "dropped_at": None}, lambda *_: None)
