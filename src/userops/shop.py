"""A shop's life in its data dir: create it, count what it holds, and wipe it.

Counting is on the path of ``userops stats`` (and of ``userops demo``'s "is there already a
shop here?"), so it reads with plain SQL on a DuckDB connection and a SQLAlchemy Core engine:
no Ibis, no ORM models, no migrations (see docs/decisions/0012-cli-commands-find-their-shop.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from userops.core.errors import Conflict
from userops.customers.counting import LIVE_CUSTOMERS_SQL

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from userops.config import Settings

WAREHOUSE_TABLES = {
    "orders": "orders",
    "order_items": "order_items",
    "events": "events",
    "spend": "channel_spend",
}
"""Stats key → warehouse table."""

SHOP_ENTRIES = (
    "warehouse.duckdb",
    "warehouse.duckdb.wal",
    "duckdb-spill",
    "demo",
    "models",
    "rejects",
    "settings",
    "tracking",
    "secret_key",
    "server.json",
)
"""What userops keeps in a data dir besides the ledger and the lock; a reset removes these and
leaves any other file alone (a data dir pointed at a folder of the user's must not be emptied)."""


CUSTOMERS_SQL = LIVE_CUSTOMERS_SQL
"""Customers as the rest of userops counts them: merged-away profiles excluded."""


def count_customers(connection: Connection) -> int:
    import sqlalchemy as sa

    try:
        row = connection.execute(sa.text(CUSTOMERS_SQL)).scalar_one()
    except sa.exc.DBAPIError:  # a ledger not created yet
        connection.rollback()
        return 0
    return int(row)


def _count_customers_sqlite(path: Path) -> int:
    import sqlite3

    if not path.exists():  # connecting would create the file
        return 0
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return int(con.execute(CUSTOMERS_SQL).fetchone()[0])
    except sqlite3.OperationalError:  # a ledger not created yet
        return 0
    finally:
        con.close()


def count_facts(cursor: Any) -> dict[str, int]:
    """Rows of each fact table, on a DuckDB connection or cursor of the warehouse."""
    import duckdb

    counts: dict[str, int] = {}
    for key, table in WAREHOUSE_TABLES.items():
        try:
            counts[key] = int(cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except duckdb.CatalogException:  # a warehouse from before the table existed
            counts[key] = 0
    return counts


def read_counts(settings: Settings) -> dict[str, int]:
    """Counts of what is stored, opened read-only; the caller holds the warehouse lock.
    A SQLite ledger is read with the standard library's driver: importing SQLAlchemy alone
    would take a third of the one-second budget of ``userops stats``."""
    import duckdb

    url = settings.resolved_ledger_url
    if url.startswith("sqlite:///"):
        counts = {"customers": _count_customers_sqlite(Path(url.removeprefix("sqlite:///")))}
    else:
        import sqlalchemy as sa

        engine = sa.create_engine(url, hide_parameters=True)
        try:
            with engine.connect() as connection:
                counts = {"customers": count_customers(connection)}
        finally:
            engine.dispose()
    if settings.warehouse_path.exists():
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            counts.update(count_facts(con))
    else:
        counts.update(dict.fromkeys(WAREHOUSE_TABLES, 0))
    return counts


def ledger_name(settings: Settings) -> str:
    """The ledger's URL without its password, to name it in a message."""
    import sqlalchemy as sa

    return sa.engine.make_url(settings.resolved_ledger_url).render_as_string(hide_password=True)


def describe_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {name}" for name, value in counts.items())


def reset(settings: Settings) -> list[str]:
    """Remove the shop completely: every ledger table (through the migrations, so a PostgreSQL
    ledger is emptied too, not just a file), the warehouse, journal, rejects, models, settings.
    The caller holds the warehouse lock, which also means no server is running on it.
    Returns what was removed, for the user."""
    from userops.ledger import engine_from
    from userops.ledger.engine import drop_all

    engine = engine_from(settings)
    try:
        drop_all(engine)
    finally:
        engine.dispose()
    removed = ["ledger tables"]
    data_dir = settings.resolved_data_dir
    for name in SHOP_ENTRIES:
        path = data_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed


def refuse_if_served(settings: Settings) -> None:
    """A reset must not pull the shop from under a running server."""
    from userops.warehouse import owner

    server = owner.read_server(settings.resolved_data_dir)
    if server is not None:
        raise Conflict(
            f"a userops server (pid {server.pid}, {server.url}) is serving this shop; "
            "stop it before resetting",
            field="reset",
        )


def initialise(settings: Settings) -> Path:
    """Create the data dir and an empty shop in it (ledger schema, warehouse tables)."""
    from userops.hub import connect

    with connect(settings, holder="userops init"):
        pass
    return settings.resolved_data_dir
