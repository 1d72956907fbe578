"""Deleting a person's rows from the tables a domain owns (an erasure, docs/decisions/0010).

Each owning domain's ``erase_customer(cur, customer_ids)`` names its own tables and calls
:func:`delete_customers` inside the erasure's warehouse transaction; this is the one copy of the
statement (the ids travel as a registered Arrow table, the table names are checked against the
catalogue and quoted with ``core.sql``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from userops.core.sql import ident
from userops.warehouse.tables import TABLES


def delete_customers(
    cur: Any, tables: Sequence[str], customer_ids: Sequence[str]
) -> dict[str, int]:
    """Delete the rows of ``customer_ids`` (column ``customer_id``) from each of ``tables`` on
    the DuckDB cursor ``cur`` (the caller's transaction); returns rows removed per table."""
    import pyarrow as pa

    unknown = [t for t in tables if t not in TABLES or "customer_id" not in TABLES[t]]
    if unknown:
        raise ValueError(f"no warehouse table with a customer_id column: {unknown}")
    cur.register("_erased", pa.table({"customer_id": pa.array(list(customer_ids), pa.string())}))
    try:
        return {
            table: int(
                cur.execute(
                    f"DELETE FROM {ident(table)} WHERE customer_id IN "
                    "(SELECT customer_id FROM _erased)"
                ).fetchall()[0][0]
            )
            for table in tables
        }
    finally:
        cur.unregister("_erased")
