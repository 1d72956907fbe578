"""The RFM grid (customers, revenue and AOV per 8-class RFM class) of the last refresh."""

from __future__ import annotations

from tests.tags.test_refresh import refresh, shop  # noqa: F401  (the fixture)

from userops.hub import Hub
from userops.tags import service
from userops.tags.rules import RFM_CN


def test_grid_sums_the_class_members(shop: Hub) -> None:  # noqa: F811
    # given
    refresh(shop)
    members: dict[str, list[str]] = {}
    for customer_id in ("a1", "r1", "s1", "c1", "k1", "n1", "r2", "e1"):
        for cls in service.show(shop.warehouse, customer_id).tags.get("rfm_cn", []):
            members.setdefault(cls, []).append(customer_id)
    # when
    grid = service.rfm_grid(shop.warehouse)
    # then: every class is listed once, in the RFM_CN order, zeros included
    assert [row["rfm_cn"] for row in grid] == list(RFM_CN)
    by_class = {row["rfm_cn"]: row for row in grid}
    paid = {"a1": (2, 60000), "r1": (2, 10000), "s1": (1, 35000), "c1": (1, 9000), "k1": (1, 12000)}
    for cls in RFM_CN:
        ids = members.get(cls, [])
        revenue = sum(paid[c][1] for c in ids)
        orders = sum(paid[c][0] for c in ids)
        row = by_class[cls]
        assert row["customers"] == len(ids), cls
        assert row["revenue_fen"] == revenue, cls
        assert row["aov_fen"] == (revenue // orders if orders else None), cls
    assert sum(r["customers"] for r in grid) == 5  # customers without paid orders have no class
    assert sum(r["revenue_fen"] for r in grid) == 126000


def test_grid_before_any_refresh_is_all_zeros(hub: Hub) -> None:
    grid = service.rfm_grid(hub.warehouse)
    assert len(grid) == 8
    assert all(r["customers"] == 0 and r["aov_fen"] is None for r in grid)
