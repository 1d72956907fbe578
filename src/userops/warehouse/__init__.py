"""The warehouse: appended and scanned facts (events, orders, items, spend) in DuckDB, read via Ibis."""

from userops.warehouse.store import Warehouse

__all__ = ["Warehouse"]
