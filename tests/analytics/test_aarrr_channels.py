"""AARRR and channel ROI on the demo shop, checked against hand-written SQL, and the statistics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from userops.analytics import rules
from userops.analytics.aarrr import AarrrQuery, aarrr
from userops.analytics.channels import ChannelsQuery, channels
from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.hub import Hub, connect

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def demo(demo_settings: Settings) -> Iterator[Hub]:
    with connect(demo_settings) as hub:
        yield hub


def sql(hub: Hub, text: str) -> list[tuple]:  # type: ignore[type-arg]
    cur = hub.warehouse.cursor()  # the shop TimeZone is set on this cursor
    try:
        return cur.execute(text).fetchall()
    finally:
        cur.close()


def test_aarrr_month_matches_hand_written_sql(demo: Hub) -> None:
    board = aarrr(
        demo.warehouse,
        timezone=TZ,
        query=AarrrQuery(period="month", intervals=3, date_to=date(2026, 9, 30)),
    )
    assert [p.start for p in board.periods] == [
        date(2026, 7, 1),
        date(2026, 8, 1),
        date(2026, 9, 1),
    ]
    aug = board.periods[1]
    lo, hi = "TIMESTAMPTZ '2026-08-01 00:00:00+08'", "TIMESTAMPTZ '2026-09-01 00:00:00+08'"
    [(new, referred)] = sql(
        demo,
        "SELECT count(*), count(referrer_id) FROM customers WHERE "
        f"merged_into IS NULL AND signup_at >= {lo} AND signup_at < {hi}",
    )
    assert (aug.new_customers, aug.accepted_invitations) == (new, referred)
    assert sum(aug.new_by_channel.values()) == new
    [(orders, gmv, paying)] = sql(
        demo,
        "SELECT count(*), sum(amount_fen), count(DISTINCT "
        "customer_id) FROM orders WHERE status = 'paid' AND "
        f"paid_at >= {lo} AND paid_at < {hi}",
    )
    assert (aug.paid_orders, aug.gmv_fen, aug.paying_customers) == (orders, gmv, paying)
    assert aug.aov_fen == gmv // orders
    [(repeat,)] = sql(
        demo,
        "SELECT count(*) FROM (SELECT customer_id FROM orders WHERE status = "
        f"'paid' AND paid_at >= {lo} AND paid_at < {hi} GROUP BY 1 "
        "HAVING count(*) >= 2)",
    )
    assert aug.repurchase_rate == round(repeat / paying, 4)
    [(activated,)] = sql(
        demo,
        "SELECT count(DISTINCT c.customer_id) FROM customers c JOIN orders o "
        "ON o.customer_id = c.customer_id AND o.status = 'paid' AND o.paid_at >= "
        "c.signup_at AND o.paid_at < c.signup_at + INTERVAL 7 DAY WHERE "
        f"c.signup_at >= {lo} AND c.signup_at < {hi}",
    )
    assert aug.activated == activated
    [(invites,)] = sql(
        demo,
        "SELECT count(*) FROM events WHERE event = 'share' AND type = 'track' "
        f"AND timestamp >= {lo} AND timestamp < {hi}",
    )
    assert aug.invitations == invites
    assert aug.week1_retention is not None and aug.week4_retention is not None
    assert 0 < aug.week4_retention < aug.week1_retention < 1
    latest = aarrr(demo.warehouse, timezone=TZ, query=AarrrQuery(period="week", intervals=2))
    assert latest.periods[-1].week1_retention is None  # not 14 days old yet


def test_channels_cells_match_hand_written_sql(demo: Hub) -> None:
    report = channels(
        demo.warehouse,
        timezone=TZ,
        query=ChannelsQuery(period="month", intervals=6, date_to=date(2026, 6, 30)),
    )
    cell = next(p for p in report.periods if p.channel == "search" and p.start == date(2026, 3, 1))
    lo, hi = "TIMESTAMPTZ '2026-03-01 00:00:00+08'", "TIMESTAMPTZ '2026-04-01 00:00:00+08'"
    [(spend,)] = sql(
        demo,
        "SELECT sum(spend_fen) FROM channel_spend WHERE channel = 'search' AND "
        "date >= DATE '2026-03-01' AND date < DATE '2026-04-01'",
    )
    [(new,)] = sql(
        demo,
        "SELECT count(*) FROM customers WHERE signup_channel = 'search' AND "
        f"signup_at >= {lo} AND signup_at < {hi}",
    )
    revenue = {}
    for h in (30, 90, 180):
        [(value,)] = sql(
            demo,
            "SELECT coalesce(sum(o.amount_fen), 0) FROM customers c JOIN orders "
            "o ON o.customer_id = c.customer_id AND o.status = 'paid' AND o.paid_at >= "
            f"c.signup_at AND o.paid_at < c.signup_at + INTERVAL {h} DAY WHERE "
            f"c.signup_channel = 'search' AND c.signup_at >= {lo} AND c.signup_at < {hi}",
        )
        revenue[f"{h}d"] = int(value)
    assert (cell.spend_fen, cell.new_customers, cell.cac_fen) == (spend, new, spend // new)
    assert cell.revenue_fen == revenue
    assert cell.roi["90d"] == round(revenue["90d"] / spend - 1, 4)
    assert cell.payback_days is not None and cell.payback_days >= 0
    # spend of every channel and period is there, free channels have none
    assert {p.channel for p in report.periods if p.spend_fen == 0} >= {"organic", "referral"}


def test_channel_flags_find_the_demo_quality_differences(demo: Hub) -> None:
    report = channels(demo.warehouse, timezone=TZ, query=ChannelsQuery(intervals=12))
    flags = {c.channel: c.conversion_flag for c in report.channels}
    # the generator gives douyin and ad_network the lowest first-purchase probabilities
    assert flags["douyin"] == flags["ad_network"] == "worse"
    assert flags["offline"] == "better"
    for c in report.channels:
        assert c.conversion_ci is not None and c.conversion_ci[0] <= (c.conversion_30d or 0)
        if c.roi_90d is not None:
            assert c.roi_90d_ci and c.roi_90d_ci[0] < c.roi_90d < c.roi_90d_ci[1]
    assert "Holm" in report.method
    first_touch = channels(
        demo.warehouse, timezone=TZ, query=ChannelsQuery(intervals=12, model="first_touch")
    )
    # the demo's utm source on each customer's first event is their signup channel
    assert [(c.channel, c.new_customers) for c in first_touch.channels] == [
        (c.channel, c.new_customers) for c in report.channels
    ]


def test_last_touch_uses_the_touch_before_the_first_order(tmp_path: Path) -> None:
    with connect(Settings(data_dir=tmp_path / "d")) as hub, hub.warehouse.write() as cur:
        cur.execute(
            "INSERT INTO customers (customer_id, signup_at, placeholder, signup_channel) "
            "VALUES ('a', '2026-03-01 10:00+08', false, 'organic')"
        )
        for mid, at, source in (
            ("1", "2026-03-01 09:00+08", "douyin"),
            ("2", "2026-03-02 09:00+08", "search"),
            ("3", "2026-03-09 09:00+08", "kol"),
        ):
            cur.execute(
                "INSERT INTO events (message_id, type, event, user_id, timestamp, "
                "received_at, context) VALUES (?, 'track', 'page_view', 'a', ?, now(), ?)",
                [mid, at, f'{{"campaign": {{"source": "{source}"}}}}'],
            )
        cur.execute(
            "INSERT INTO orders VALUES ('o', 'a', '2026-03-05 09:00+08', "
            "'2026-03-05 09:00+08', 'paid', 500, 0, NULL, NULL)"
        )
    with connect(Settings(data_dir=tmp_path / "d")) as hub:
        got = {
            m: [
                c.channel
                for c in channels(
                    hub.warehouse,
                    timezone=TZ,
                    query=ChannelsQuery(model=m, intervals=1, date_to=date(2026, 3, 31)),
                ).channels
            ]
            for m in ("signup", "first_touch", "last_touch")
        }
    assert got == {"signup": ["organic"], "first_touch": ["douyin"], "last_touch": ["search"]}


def test_ltv_uses_predicted_clv_when_there(tmp_path: Path) -> None:
    with connect(Settings(data_dir=tmp_path / "d")) as hub, hub.warehouse.write() as cur:
        cur.execute(
            "INSERT INTO customers (customer_id, signup_at, placeholder, signup_channel) VALUES "
            "('a', '2026-03-01 10:00+08', false, 'search'), "
            "('b', '2026-03-02 10:00+08', false, 'search')"
        )
        cur.execute(
            "INSERT INTO orders VALUES ('o', 'a', '2026-03-05 09:00+08', "
            "'2026-03-05 09:00+08', 'paid', 5000, 0, NULL, NULL)"
        )
        cur.execute("INSERT INTO channel_spend VALUES ('2026-03-01', 'search', 2000, NULL, NULL)")
    query = ChannelsQuery(intervals=1, date_to=date(2026, 3, 31))
    with connect(Settings(data_dir=tmp_path / "d")) as hub:
        plain = channels(hub.warehouse, timezone=TZ, query=query)
        assert plain.periods[0].ltv_cac == 2.5  # realised revenue 5000 / spend 2000
        assert plain.periods[0].cac_fen == 1000 and plain.periods[0].payback_days == 3
        with hub.warehouse.write() as cur:
            cur.execute(
                "INSERT INTO customer_scores (customer_id, clv_fen) VALUES ('a', 3000), ('b', 1000)"
            )
        predicted = channels(hub.warehouse, timezone=TZ, query=query)
        assert predicted.periods[0].ltv_cac == 4.5  # (5000 + 3000 + 1000) / 2000
        assert predicted.channels[0].ltv_cac == 4.5


def test_statistics_helpers() -> None:
    assert rules.holm([0.01, 0.04, 0.03, None]) == [0.03, 0.06, 0.06, None]
    low, high = rules.wilson(0, 10)  # type: ignore[misc]
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-4)
    z = rules.two_proportion_z(30, 100, 20, 100)
    assert z == pytest.approx(0.1 / (0.25 * 0.75 * 0.02) ** 0.5)
    assert rules.two_sided_p(1.959963984540054) == pytest.approx(0.05)
    assert rules.flag(2.0, 0.01) == "better" and rules.flag(-2.0, 0.01) == "worse"
    assert rules.flag(2.0, 0.2) == "same"
    roi, lo, hi = rules.ratio_ci(300.0, 300.0 * 300 / 3 + 2 * 100.0, 3, 100.0)  # type: ignore[misc]
    assert roi == 2.0 and lo < roi < hi


def test_bad_input(demo: Hub) -> None:
    with pytest.raises(InvalidInput) as info:
        channels(demo.warehouse, timezone=TZ, query=ChannelsQuery(model="linear"))
    assert info.value.field == "model" and "first_touch" in info.value.message
    with pytest.raises(InvalidInput) as info:
        aarrr(demo.warehouse, timezone=TZ, query=AarrrQuery(activation_event="favourite"))
    assert info.value.field == "activation_event" and "did you mean favorite" in info.value.message
