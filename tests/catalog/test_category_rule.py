"""Segment rule "bought from 美妆 › 面膜 in 90 days": the compiled rule against the same
question asked in hand-written SQL over the stored tables, and a set worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from tests.catalog.test_import_products import run as import_products
from tests.conftest import write
from tests.segments.test_schema import SCHEMA

from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest.service import import_file
from userops.ledger import unit_of_work
from userops.segments import service as segments
from userops.segments.tree import parse_rule

NOW = datetime(2026, 6, 1, tzinfo=UTC)

PRODUCTS = """
sku,name,category,price_fen
MASK,补水面膜,美妆 › 面膜,1000
NIGHT,睡眠面膜,美妆 › 面膜 › 睡眠面膜,2000
CREAM,面膜霜,美妆 › 面膜霜,3000
LIP,口红,美妆 › 彩妆,4000
EAR,耳机,数码 › 耳机,5000
"""

# c1 bought a mask 10 days ago; c2 a sleeping mask (below the node) 30 days ago; c3 the cream
# (面膜霜: not in 面膜 although its path starts with the same characters); c4 a mask 120 days
# ago (outside 90 days); c5 a refunded mask; c6 masks in two orders; c7 earphones only;
# c8 an unknown SKU; c9 a mask bought *after* NOW (not counted).
ORDERS = """
order_id,customer_id,created_at,paid_at,status,amount_fen
o1,c1,2026-05-22T00:00:00Z,2026-05-22T00:00:00Z,paid,1000
o2,c2,2026-05-02T00:00:00Z,2026-05-02T00:00:00Z,paid,2000
o3,c3,2026-05-20T00:00:00Z,2026-05-20T00:00:00Z,paid,3000
o4,c4,2026-02-01T00:00:00Z,2026-02-01T00:00:00Z,paid,1000
o5,c5,2026-05-20T00:00:00Z,2026-05-20T00:00:00Z,refunded,1000
o6,c6,2026-05-10T00:00:00Z,2026-05-10T00:00:00Z,paid,1000
o7,c6,2026-05-11T00:00:00Z,2026-05-11T00:00:00Z,paid,5000
o8,c7,2026-05-20T00:00:00Z,2026-05-20T00:00:00Z,paid,5000
o9,c8,2026-05-20T00:00:00Z,2026-05-20T00:00:00Z,paid,100
o10,c9,2026-06-02T00:00:00Z,2026-06-02T00:00:00Z,paid,1000
o11,c6,2026-05-12T00:00:00Z,2026-05-12T00:00:00Z,paid,2000
"""

ITEMS = """
order_id,sku,quantity,price_fen
o1,MASK,1,1000
o2,NIGHT,1,2000
o3,CREAM,1,3000
o4,MASK,1,1000
o5,MASK,1,1000
o6,MASK,1,1000
o7,EAR,1,5000
o8,EAR,1,5000
o9,NOPE,1,100
o10,MASK,1,1000
o11,NIGHT,1,2000
"""


@pytest.fixture
def shop(hub: Hub, tmp_path: Path) -> Hub:
    import_products(hub, write(tmp_path / "products.csv", PRODUCTS))
    for entity, text in (("orders", ORDERS), ("order-items", ITEMS)):
        import_file(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=hub.settings.rejects_dir,
            entity=entity,
            path=write(tmp_path / f"{entity}.csv", text),
        )
    return hub


def who(hub: Hub, rule: dict) -> list[str]:  # type: ignore[type-arg]
    jsonschema.validate(rule, SCHEMA)
    with unit_of_work(hub.engine) as session:
        found = segments.preview(session, hub.warehouse, rule, sample=100, now=NOW)
    return found.sample


def by_sql(hub: Hub, node: str, days: int | None, min_orders: int = 1) -> list[str]:
    """The same question in plain SQL over the stored tables."""
    window = "AND o.paid_at >= ?::TIMESTAMPTZ - to_days(?)" if days else ""
    params: list[object] = [node, node + " › %", NOW]
    if days:
        params += [NOW, days]
    params.append(min_orders)
    cur = hub.warehouse.cursor()
    try:
        rows = cur.execute(
            "SELECT o.customer_id FROM orders o WHERE o.status = 'paid' AND o.paid_at IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM order_items i JOIN products p ON p.sku = i.sku "
            "WHERE i.order_id = o.order_id AND (p.category = ? OR p.category LIKE ?)) "
            f"AND o.paid_at < ?::TIMESTAMPTZ {window} "
            "GROUP BY o.customer_id HAVING count(DISTINCT o.order_id) >= ? ORDER BY 1",
            params,
        ).fetchall()
    finally:
        cur.close()
    return [r[0] for r in rows]


def test_bought_from_a_category_in_90_days(shop: Hub) -> None:
    rule = {"bought": "美妆 › 面膜", "within_days": 90}
    assert who(shop, rule) == ["c1", "c2", "c6"]  # by hand, see ORDERS
    assert who(shop, rule) == by_sql(shop, "美妆 › 面膜", 90)
    # typed with '>' it is the same node
    assert who(shop, {"bought": "美妆>面膜", "within_days": 90}) == ["c1", "c2", "c6"]


def test_whole_tree_counts_and_ever(shop: Hub) -> None:
    assert who(shop, {"bought": "美妆"}) == ["c1", "c2", "c3", "c4", "c6"]
    assert who(shop, {"bought": "美妆"}) == by_sql(shop, "美妆", None)
    assert who(shop, {"bought": "美妆 › 面膜", "op": ">=", "value": 2}) == ["c6"]
    assert who(shop, {"bought": "美妆 › 面膜", "op": ">=", "value": 2}) == by_sql(
        shop, "美妆 › 面膜", None, 2
    )
    assert who(shop, {"bought": "数码"}) == ["c6", "c7"]
    assert who(shop, {"bought": "图书"}) == []


def test_never_bought_includes_customers_without_orders(shop: Hub) -> None:
    none = who(shop, {"bought": "美妆 › 面膜", "within_days": 90, "op": "<", "value": 1})
    everyone = who(shop, {"orders": "count", "op": ">=", "value": 0})
    assert set(none) == set(everyone) - {"c1", "c2", "c6"}


def test_bad_category_paths_are_refused_with_the_node() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_rule({"all": [{"bought": "美妆 ›› 面膜"}]})
    assert refused.value.message.startswith("all[0]: category")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"bought": "美妆", "days": 3}, SCHEMA)
