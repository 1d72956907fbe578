"""The warehouse: appended and scanned facts in DuckDB, read through Ibis."""

from userops.warehouse.store import Warehouse

__all__ = ["Warehouse"]
