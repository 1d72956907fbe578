"""Row counts of the facts ingest owns, for ``userops stats`` (cheap: no Ibis, no scans)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from userops.warehouse import Warehouse


def counts(warehouse: Warehouse) -> dict[str, int]:
    return {
        "orders": warehouse.count("orders"),
        "order_items": warehouse.count("order_items"),
        "events": warehouse.count("events"),
        "spend": warehouse.count("channel_spend"),
    }
