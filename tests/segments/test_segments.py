"""Segments: the rule language, compiled to one warehouse query; saved on both ledgers."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from tests.tags.test_refresh import AS_OF, refresh, shop  # noqa: F401  (fixture)

from userops.core.clock import local_midnight_utc
from userops.core.errors import Conflict, InvalidInput, NotFound
from userops.customers.reach import mirror_reach
from userops.hub import Hub
from userops.ledger import unit_of_work
from userops.segments import service as segments


def who(hub: Hub, rule: dict, day: date = AS_OF) -> list[str]:  # type: ignore[type-arg]
    with unit_of_work(hub.engine) as session:
        found = segments.preview(
            session, hub.warehouse, rule, sample=100, now=local_midnight_utc(day, hub.settings.tz)
        )
    assert found.count == len(found.sample)
    return found.sample


def test_conditions(shop: Hub) -> None:  # noqa: F811
    refresh(shop)
    assert who(shop, {"tag": "lifecycle", "value": "silent"}) == ["ref1", "ref2", "ref3", "s1"]
    assert who(shop, {"attr": "province", "op": "in", "value": ["广东省", "浙江省"]}) == [
        "a1",
        "n1",
    ]
    assert who(shop, {"attr": "interests", "op": "contains", "value": "美妆"}) == ["n1"]
    assert who(shop, {"rfm": "monetary_fen", "op": ">=", "value": 35000}) == ["a1", "s1"]
    assert who(shop, {"orders": "count", "op": ">=", "value": 2}) == ["a1", "r1"]
    # "fewer than one order in 90 days" includes the customers who never ordered
    no_recent = who(shop, {"orders": "count", "within_days": 90, "op": "<", "value": 1})
    assert "n1" in no_recent and "s1" in no_recent
    assert not {"a1", "r1", "k1"} & set(no_recent)
    assert who(shop, {"orders": "days_since_last", "op": ">", "value": 200}) == ["c1"]
    assert who(shop, {"orders": "aov_fen", "op": ">=", "value": 30000}) == ["a1", "s1"]
    # events resolve anonymous ids through identify: e1's anonymous page view counts for e1
    assert who(shop, {"events": "page_view", "within_days": 30, "op": ">=", "value": 1}) == ["r2"]
    assert who(shop, {"inactive": "order", "days": 60}) == [
        "c1",
        "e1",
        "f1",
        "n1",
        "r2",
        "ref1",
        "ref2",
        "ref3",
        "s1",
    ]
    assert who(
        shop,
        {
            "all": [
                {"tag": "lifecycle", "value": "returning"},
                {"not": {"orders": "count", "op": ">=", "value": 1}},
            ]
        },
    ) == ["e1", "r2"]
    assert who(
        shop, {"any": [{"tag": "value", "value": "kol"}, {"attr": "city", "value": "深圳市"}]}
    ) == ["k1", "n1"]


def test_inactive_and_events_with_properties(shop: Hub, tmp_path: Path) -> None:  # noqa: F811
    import json

    from userops.ingest.service import import_file

    more = [
        {
            "type": "track",
            "userId": "a1",
            "event": "product_view",
            "messageId": f"pv{i}",
            "timestamp": f"2024-06-2{i}T10:00:00+08:00",
            "properties": {"category": "美妆" if i < 3 else "数码", "price_fen": 1000 * i},
        }
        for i in range(5)
    ]
    path = tmp_path / "more.jsonl"
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in more) + "\n")
    import_file(
        engine=shop.engine,
        warehouse=shop.warehouse,
        rejects_dir=shop.settings.rejects_dir,
        entity="events",
        path=path,
    )
    beauty = {
        "events": "product_view",
        "within_days": 14,
        "op": ">=",
        "value": 3,
        "where": [{"property": "category", "op": "eq", "value": "美妆"}],
    }
    assert who(shop, beauty) == ["a1"]
    beauty["value"] = 4
    assert who(shop, beauty) == []
    pricey = {
        "events": "product_view",
        "op": ">=",
        "value": 2,
        "where": [{"property": "price_fen", "op": ">=", "value": 3000}],
    }
    assert who(shop, pricey) == ["a1"]
    lapsed = who(shop, {"inactive": "order", "days": 60})
    assert "a1" not in lapsed and "k1" not in lapsed and "c1" in lapsed and "n1" in lapsed


def test_reachable_needs_contact_and_consent(shop: Hub, tmp_path: Path) -> None:  # noqa: F811
    from userops.ingest.service import import_file

    path = tmp_path / "contacts.csv"
    path.write_text(
        "customer_id,phone,email,consent_sms,consent_email\n"
        "a1,13800000001,a@x.com,granted,withdrawn\n"
        "k1,13800000002,,withdrawn,granted\n"
        "n1,,,granted,\n"
    )
    import_file(
        engine=shop.engine,
        warehouse=shop.warehouse,
        rejects_dir=shop.settings.rejects_dir,
        entity="customers",
        path=path,
    )
    with unit_of_work(shop.engine) as session:
        mirror_reach(session, shop.warehouse)
    assert who(shop, {"reachable": "sms"}) == ["a1"]  # n1 consented but has no phone
    assert who(shop, {"reachable": "email"}) == []


def test_saved_segments_history_and_nesting(shop: Hub, tmp_path: Path) -> None:  # noqa: F811
    refresh(shop)
    with unit_of_work(shop.engine) as session:
        segments.create(
            session, shop.warehouse, name="payers", rule={"orders": "count", "op": ">=", "value": 1}
        )
        segments.create(
            session,
            shop.warehouse,
            name="payers-silent",
            rule={"all": [{"segment": "payers"}, {"tag": "lifecycle", "value": "silent"}]},
        )
        with pytest.raises(Conflict):
            segments.create(
                session, shop.warehouse, name="payers", rule={"tag": "value", "value": "kol"}
            )
        with pytest.raises(InvalidInput, match="refers to itself"):
            segments.create(
                session, shop.warehouse, name="loop", rule={"segment": "loop"}, replace=True
            )
        assert [s.name for s in segments.list_all(session)] == ["payers", "payers-silent"]
    t1 = local_midnight_utc(AS_OF, shop.settings.tz)
    t2 = local_midnight_utc(date(2024, 8, 15), shop.settings.tz)
    with unit_of_work(shop.engine) as session:
        first = segments.record_all(session, shop.warehouse, as_of=t1)
    assert first["payers"] == {"size": 5, "entered": 5, "left": 0}
    assert first["payers-silent"]["size"] == 1  # s1
    refresh(shop, date(2024, 8, 15))
    with unit_of_work(shop.engine) as session:
        second = segments.record_all(session, shop.warehouse, as_of=t2)
    assert second["payers"] == {"size": 5, "entered": 0, "left": 0}
    assert second["payers-silent"] == {"size": 4, "entered": 3, "left": 0}  # a1, k1, r1
    history = segments.history(shop.warehouse, "payers")
    assert [(p.size, p.entered) for p in history] == [(5, 5), (5, 0)]
    out = tmp_path / "payers.csv"
    with unit_of_work(shop.engine) as session:
        assert segments.export(session, shop.warehouse, "payers", out) == 5
        segments.delete(session, shop.warehouse, "payers-silent")
        with pytest.raises(NotFound):
            segments.get(session, "payers-silent")
    with open(out, encoding="utf-8") as handle:
        assert [r["customer_id"] for r in csv.DictReader(handle)][:2] == ["a1", "c1"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {
                "all": [
                    {"tag": "lifecycle", "value": "new"},
                    {"any": [{"attr": "city", "op": "like", "value": "x"}]},
                ]
            },
            "all[1].any[0]: unknown operator 'like'",
        ),
        ({"all": [{"attr": "cty", "value": "x"}]}, "all[0]: unknown attribute 'cty'; known: "),
        ({"tag": "lifecyle", "value": "new"}, "unknown tag family 'lifecyle'; known: lifecycle"),
        ({"orders": "count", "op": ">=", "value": "three"}, "needs a number"),
        ({"all": []}, "'all' needs a non-empty list"),
        ({"events": "x", "within_days": 0}, "'within_days' must be a whole number"),
        ({"frobnicate": 1}, "expected one of all/any/not or a condition"),
        ({"segment": "missing"}, "no segment 'missing'"),
        ({"reachable": "fax"}, "unknown channel 'fax'"),
    ],
)
def test_bad_rules_name_the_node(shop: Hub, rule: dict, message: str) -> None:  # noqa: F811
    with unit_of_work(shop.engine) as session, pytest.raises((InvalidInput, NotFound)) as info:
        segments.preview(session, shop.warehouse, rule)
    assert message in str(info.value)
