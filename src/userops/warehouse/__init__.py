"""The warehouse: appended and scanned facts in DuckDB, read through Ibis.

``Warehouse`` loads DuckDB on first use, so that ``userops.warehouse.owner`` (the lock every CLI
command looks at) stays cheap to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from userops.warehouse.store import Warehouse


def __getattr__(name: str) -> Any:
    if name == "Warehouse":
        from userops.warehouse.store import Warehouse

        return Warehouse
    raise AttributeError(name)


__all__ = ["Warehouse"]
