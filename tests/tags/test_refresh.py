"""Tag refresh on a hand-made shop whose every tag is known, checked on both ledgers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import write

from userops.core.clock import local_midnight_utc
from userops.hub import Hub
from userops.ingest.service import import_file
from userops.tags import rules, service
from userops.tags.rules import TagSettings

CUSTOMERS = """
customer_id,signup_at,birthday,gender,province,city,interests,referrer_id
n1,2024-06-20,2000-07-01,female,广东省,深圳市,美妆|数码,
a1,2024-01-01,2000-07-02,male,浙江省,杭州市,,
r1,2023-01-01,1990-01-01,,,,,
r2,2024-02-01,,,,,,
s1,2023-06-01,,,,拉萨市,,
c1,2023-01-01,,,,未知市,,
e1,2023-01-01,,,,,,
k1,2023-01-01,,,,,,
f1,2024-07-02,,,,,,
ref1,2024-03-01,,,,,,k1
ref2,2024-03-02,,,,,,k1
ref3,2024-03-03,,,,,,k1
"""

ORDERS = """
order_id,customer_id,created_at,paid_at,status,amount_fen
a1-1,a1,2024-05-20,2024-05-20,paid,20000
a1-2,a1,2024-06-25,2024-06-25,paid,40000
r1-1,r1,2023-02-01,2023-02-01,paid,5000
r1-2,r1,2024-06-15,2024-06-15,paid,5000
s1-1,s1,2024-03-01,2024-03-01,paid,35000
c1-1,c1,2023-10-01,2023-10-01,paid,9000
c1-2,c1,2023-10-02,2023-10-02,refunded,9000
c1-3,c1,2024-06-30 23:59,2024-06-30 23:59,cancelled,9000
k1-1,k1,2024-06-01,2024-06-01,paid,12000
k1-late,k1,2024-07-01 00:00,2024-07-01 00:00,paid,99999
"""

EVENTS = [
    {
        "type": "track",
        "userId": "r2",
        "event": "page_view",
        "messageId": "r2-1",
        "timestamp": "2024-06-10T12:00:00+08:00",
    },
    {
        "type": "page",
        "anonymousId": "dev-e1",
        "messageId": "e1-1",
        "timestamp": "2024-06-28T12:00:00+08:00",
    },
    {
        "type": "identify",
        "anonymousId": "dev-e1",
        "userId": "e1",
        "messageId": "e1-2",
        "timestamp": "2024-07-05T12:00:00+08:00",
    },
]

AS_OF = date(2024, 7, 1)


@pytest.fixture
def shop(hub: Hub, tmp_path: Path) -> Hub:
    for entity, text in (("customers", CUSTOMERS), ("orders", ORDERS)):
        summary = import_file(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=hub.settings.rejects_dir,
            entity=entity,
            path=write(tmp_path / f"{entity}.csv", text),
        )
        assert summary.rejected == 0
    events = write(tmp_path / "events.jsonl", "\n".join(json.dumps(e) for e in EVENTS) + "\n")
    import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity="events",
        path=events,
    )
    return hub


def refresh(hub: Hub, day: date = AS_OF, **overrides: object):  # type: ignore[no-untyped-def]
    return service.refresh(
        hub.warehouse,
        as_of=local_midnight_utc(day, hub.settings.tz),
        settings=TagSettings(**overrides),
    )


def tag(hub: Hub, customer_id: str, family: str) -> list[str]:
    return service.show(hub.warehouse, customer_id).tags.get(family, [])


def test_lifecycle_and_windows(shop: Hub) -> None:
    result = refresh(shop)
    expected = {
        "n1": "new",
        "a1": "active",
        "r1": "returning",
        "r2": "returning",
        "s1": "silent",
        "c1": "churned",
        "e1": "returning",
        "k1": "returning",
        "ref1": "silent",
        "ref2": "silent",
        "ref3": "silent",
    }
    for customer_id, stage in expected.items():
        assert tag(shop, customer_id, "lifecycle") == [stage], customer_id
    assert result.customers == len(expected)  # f1 signs up after T: not a customer yet
    assert result.counts["lifecycle"] == {
        "active": 1,
        "churned": 1,
        "new": 1,
        "returning": 4,
        "silent": 4,
    }
    # the order at exactly T does not count: k1 has one paid order before T
    assert service.show(shop.warehouse, "k1").values["frequency"] == 1


def test_rfm_matches_the_definition(shop: Hub) -> None:
    refresh(shop)
    t = local_midnight_utc(AS_OF, shop.settings.tz)
    paid = {  # customer: (last paid, count, sum) of status=paid before T
        "a1": ("2024-06-25", 2, 60000),
        "r1": ("2024-06-15", 2, 10000),
        "s1": ("2024-03-01", 1, 35000),
        "c1": ("2023-10-01", 1, 9000),
        "k1": ("2024-06-01", 1, 12000),
    }
    ids = sorted(paid)
    recency = np.array(
        [
            (t - local_midnight_utc(date.fromisoformat(paid[c][0]), shop.settings.tz)).days
            for c in ids
        ]
    )
    freq = np.array([paid[c][1] for c in ids])
    money = np.array([paid[c][2] for c in ids])
    cuts = {
        name: np.quantile(v.astype(float), [0.2, 0.4, 0.6, 0.8])
        for name, v in (("r", recency), ("f", freq), ("m", money))
    }
    for i, c in enumerate(ids):
        got = service.show(shop.warehouse, c).values
        r_score = 5 - int((recency[i] > cuts["r"]).sum())
        f_score = 1 + int((freq[i] > cuts["f"]).sum())
        m_score = 1 + int((money[i] > cuts["m"]).sum())
        assert (got["recency_days"], got["frequency"], got["monetary_fen"]) == (
            recency[i],
            freq[i],
            money[i],
        )
        assert (got["r_score"], got["f_score"], got["m_score"]) == (r_score, f_score, m_score), c
        cn = rules.rfm_cn(
            bool(recency[i] < recency.mean()),
            bool(freq[i] > freq.mean()),
            bool(money[i] > money.mean()),
        )
        assert tag(shop, c, "rfm_cn") == [cn]
        assert tag(shop, c, "rfm_segment") == [rules.rfm_segment(r_score, f_score, m_score)]
    for no_orders in ("n1", "r2", "e1"):
        assert tag(shop, no_orders, "rfm_cn") == []


def test_value_tiers_frequency_and_attributes(shop: Hub) -> None:
    refresh(shop)
    assert tag(shop, "a1", "aov_tier") == ["high"]  # 600 yuan / 2 = 300 → high
    assert tag(shop, "s1", "aov_tier") == ["high"]
    assert tag(shop, "k1", "aov_tier") == ["mid"]
    assert tag(shop, "c1", "aov_tier") == ["low"]
    assert tag(shop, "a1", "order_frequency") == ["2-5"]
    assert tag(shop, "c1", "order_frequency") == ["0"]  # last paid order > 180 days before T
    assert tag(shop, "n1", "order_frequency") == ["0"]
    assert tag(shop, "k1", "value") == ["kol"]  # three referrals within 365 days
    assert tag(shop, "a1", "value") == ["ordinary"]
    assert tag(shop, "n1", "age_band") == ["18-24"]  # 24 on 2024-07-01
    assert tag(shop, "a1", "age_band") == ["18-24"]  # turns 24 the day after T
    assert tag(shop, "n1", "city_tier") == ["一线"]
    assert tag(shop, "a1", "city_tier") == ["新一线"]
    assert tag(shop, "s1", "city_tier") == ["五线"]
    assert tag(shop, "c1", "city_tier") == []  # a city the table does not know
    assert sorted(tag(shop, "n1", "interest")) == ["数码", "美妆"]
    assert tag(shop, "n1", "birthday_month") == ["7"]
    # a higher threshold is a setting, not a code change
    refresh(shop, aov_high_yuan=350)
    assert tag(shop, "a1", "aov_tier") == ["mid"]


def test_snapshots_transitions_and_manual_tags(shop: Hub) -> None:
    refresh(shop)
    refresh(shop, date(2024, 8, 15))
    moves = {
        (m["from"], m["to"]): m["customers"] for m in service.transitions(shop.warehouse).moves
    }
    assert moves[("new", "silent")] == 1
    assert moves[("active", "silent")] == 1
    assert moves[("returning", "silent")] == 4
    assert service.add_manual(shop.warehouse, ["a1", "k1", "a1"], "vip", source="test") == 2
    assert service.add_manual(shop.warehouse, ["a1"], "vip", source="test") == 0
    assert tag(shop, "a1", "manual") == ["vip"]
    refresh(shop, date(2024, 8, 16))  # manual tags survive refreshes
    assert tag(shop, "k1", "manual") == ["vip"]
    assert service.remove_manual(shop.warehouse, ["k1"], "vip") == 1
    assert tag(shop, "k1", "manual") == []
    from userops.core.errors import NotFound

    with pytest.raises(NotFound, match="unknown customer id"):
        service.add_manual(shop.warehouse, ["a1", "nobody"], "vip", source="test")


def test_empty_shop_and_failed_refresh(
    hub: Hub, shop: Hub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = refresh(shop)
    before = service.counts(shop.warehouse)

    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_counts", broken)
    with pytest.raises(RuntimeError):
        refresh(shop, date(2024, 9, 1))
    monkeypatch.undo()
    assert service.counts(shop.warehouse) == before  # the previous tags are still there
    assert service.last_refresh(shop.warehouse)["customers"] == first.customers


def test_refresh_of_an_empty_shop(tmp_path: Path) -> None:
    from userops.config import Settings
    from userops.hub import connect

    with connect(Settings(data_dir=tmp_path / "empty")) as empty:
        result = refresh(empty)
    assert result.customers == 0
    assert all(counts == {} for counts in result.counts.values())


def test_ages_are_counted_on_the_shop_local_date(hub: Hub, tmp_path: Path) -> None:
    # As of local midnight of 2024-07-01 in Asia/Shanghai (2024-06-30 16:00 UTC), a customer born
    # on 1999-07-01 is 25 that day: the shop's calendar, not UTC's, decides the birthday.
    assert hub.settings.timezone == "Asia/Shanghai"
    text = "customer_id,signup_at,birthday\nb1,2024-01-01,1999-07-01\nb2,2024-01-01,1999-07-02\n"
    summary = import_file(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        entity="customers",
        path=write(tmp_path / "born.csv", text),
    )
    assert summary.rejected == 0
    refresh(hub, date(2024, 7, 1))
    assert tag(hub, "b1", "age_band") == ["25-29"]  # 25th birthday on the local as-of date
    assert tag(hub, "b2", "age_band") == ["18-24"]  # turns 25 the day after
