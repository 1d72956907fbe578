"""The overview: totals and shop-local daily series over a tiny imported warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from userops.analytics.overview import overview
from userops.config import Settings
from userops.core.errors import InvalidInput
from userops.hub import Hub, connect
from userops.ingest.service import import_file

CUSTOMERS = """\
customer_id,name,phone,signup_at,signup_channel,province
c1,张三,13800000001,2024-02-28T10:00:00+08:00,search,广东省
c2,李四,13800000002,2024-03-01 23:30:00+08:00,douyin,浙江省
c3,王五,13800000003,2024-03-01T16:30:00Z,app_store,上海市
c4,赵六,,,,
"""

# o1 is paid at 23:30 shop time on 03-01; o2 at 16:30 UTC on 03-01, which is 00:30 on 03-02 in
# Shanghai. o3 was refunded and o4 cancelled: neither is GMV. o5 names an unknown customer
# (a placeholder is created) and falls on the leap day's eve.
ORDERS = """\
order_id,customer_id,created_at,paid_at,status,amount_fen
o1,c1,2024-03-01T23:00:00+08:00,2024-03-01T23:30:00+08:00,paid,10000
o2,c2,2024-03-01T16:20:00Z,2024-03-01T16:30:00Z,paid,25050
o3,c1,2024-03-01T11:00:00+08:00,2024-03-01T12:00:00+08:00,refunded,99900
o4,c3,2024-03-01T11:00:00+08:00,,cancelled,5000
o5,c9,2024-02-27T09:00:00+08:00,2024-02-27T09:05:00+08:00,paid,1234
o6,c1,2024-02-29T20:00:00+08:00,2024-02-29T20:01:00+08:00,paid,1
"""


def _import(hub: Hub, tmp_path: Path, entity: str, text: str) -> None:
    path = tmp_path / f"{entity}.csv"
    path.write_text(text, encoding="utf-8")
    import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=tmp_path / "rejects",
        entity=entity,
        path=path,
    )


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with connect(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


@pytest.fixture
def shop(hub: Hub, tmp_path: Path) -> Hub:
    _import(hub, tmp_path, "customers", CUSTOMERS)
    _import(hub, tmp_path, "orders", ORDERS)
    return hub


def test_totals_count_paid_orders_only(shop: Hub) -> None:
    # given the tiny shop; when
    result = overview(shop.warehouse, timezone="Asia/Shanghai")
    # then: c1..c4 and the placeholder c9; refunded and cancelled orders are not GMV
    assert result.totals.customers == 5
    assert result.totals.paying_customers == 3  # c1, c2, c9
    assert result.totals.paid_orders == 4
    assert result.totals.gmv_fen == 10000 + 25050 + 1234 + 1
    assert result.totals.aov_fen == 36285 // 4


def test_series_uses_shop_local_days_and_fills_gaps(shop: Hub) -> None:
    # when: the default end is the latest day with a paid order or signup (03-02 local)
    result = overview(shop.warehouse, timezone="Asia/Shanghai", days=6)
    # then
    assert (result.start, result.end) == (date(2024, 2, 26), date(2024, 3, 2))
    got = [(p.day.isoformat(), p.new_customers, p.paid_orders, p.gmv_fen) for p in result.series]
    assert got == [
        ("2024-02-26", 0, 0, 0),
        ("2024-02-27", 0, 1, 1234),
        ("2024-02-28", 1, 0, 0),
        ("2024-02-29", 0, 1, 1),
        ("2024-03-01", 1, 1, 10000),  # o1 at 23:30 +08:00; c2 signed up at 23:30 +08:00
        ("2024-03-02", 1, 1, 25050),  # o2 and c3 at 16:30 UTC = 00:30 on 03-02 in Shanghai
    ]
    assert result.window_new_customers == 3
    assert result.window_gmv_fen == 36285


def test_day_boundaries_follow_the_timezone_given(shop: Hub) -> None:
    # when: the same data read on UTC days
    result = overview(shop.warehouse, timezone="UTC", days=2, today=date(2024, 3, 1))
    # then: o1 (15:30Z) and o2 (16:30Z) both fall on 03-01
    assert [(p.day, p.gmv_fen, p.new_customers) for p in result.series] == [
        (date(2024, 2, 29), 1, 0),
        (date(2024, 3, 1), 10000 + 25050, 2),
    ]


def test_explicit_today_outside_the_data_gives_zeros(shop: Hub) -> None:
    result = overview(shop.warehouse, timezone="Asia/Shanghai", days=3, today=date(2025, 1, 2))
    assert [p.day for p in result.series] == [
        date(2024, 12, 31),
        date(2025, 1, 1),
        date(2025, 1, 2),
    ]
    assert all(p.gmv_fen == p.new_customers == p.paid_orders == 0 for p in result.series)
    assert result.totals.gmv_fen == 36285  # totals are all-time


def test_empty_warehouse(hub: Hub) -> None:
    result = overview(hub.warehouse, timezone="Asia/Shanghai", days=7, today=date(2024, 5, 1))
    assert result.totals.model_dump() == {
        "customers": 0,
        "paying_customers": 0,
        "paid_orders": 0,
        "gmv_fen": 0,
        "aov_fen": 0,
    }
    assert len(result.series) == 7
    assert result.end == date(2024, 5, 1)


def test_empty_warehouse_defaults_to_the_current_day(hub: Hub) -> None:
    result = overview(hub.warehouse, timezone="Asia/Shanghai", days=1)
    assert result.start == result.end
    assert result.series[0].gmv_fen == 0


def test_merged_customers_count_once(shop: Hub, tmp_path: Path) -> None:
    # given: c9's orders belong to c2 after an alias (c9 → c2)
    _import(
        shop,
        tmp_path,
        "events",
        (
            "message_id,type,user_id,previous_id,timestamp\n"
            "m1,alias,c2,c9,2024-03-03T10:00:00+08:00\n"
        ),
    )
    # when
    result = overview(shop.warehouse, timezone="Asia/Shanghai")
    # then: c9 is no longer a customer of its own, and c2 is one paying customer
    assert result.totals.customers == 4
    assert result.totals.paying_customers == 2
    assert result.totals.paid_orders == 4


@pytest.mark.parametrize("days", [0, -1, 100_000])
def test_days_out_of_range(hub: Hub, days: int) -> None:
    with pytest.raises(InvalidInput):
        overview(hub.warehouse, timezone="Asia/Shanghai", days=days)


def test_days_the_data_does_not_cover_are_partial(shop: Hub, hub: Hub) -> None:
    # the latest data day (03-02) is taken as complete; the days after it are not covered
    result = overview(shop.warehouse, timezone="Asia/Shanghai", days=4, today=date(2024, 3, 4))
    assert result.covered_until == date(2024, 3, 3)
    assert [(p.day.day, p.partial) for p in result.series] == [
        (1, False),
        (2, False),
        (3, True),
        (4, True),
    ]
    assert not any(p.partial for p in overview(shop.warehouse, timezone="UTC", days=6).series)


def test_today_is_partial(hub: Hub) -> None:
    # an empty shop ends today, and today is not over
    assert overview(hub.warehouse, timezone="Asia/Shanghai", days=2).series[-1].partial
