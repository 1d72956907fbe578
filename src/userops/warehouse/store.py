"""One DuckDB database per data dir, owned by one process at a time (see docs/decisions/0001)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from userops.warehouse.tables import TABLES, create_statements

if TYPE_CHECKING:
    import ibis.backends.duckdb


class Warehouse:
    """The process's DuckDB connection. Threads take their own cursor; writers take ``write``."""

    def __init__(self, path: Path, *, timezone: str, memory_limit: str | None = None) -> None:
        self.path = path
        self.timezone = timezone
        config: dict[str, str] = {"temp_directory": str(path.parent / "duckdb-spill")}
        if memory_limit:
            config["memory_limit"] = memory_limit
        self._con = duckdb.connect(str(path), config=config)
        self._write_lock = threading.RLock()
        self._con.execute(f"SET TimeZone = '{timezone}'")
        for statement in create_statements():
            self._con.execute(statement)

    def cursor(self, *, timezone: str | None = None) -> duckdb.DuckDBPyConnection:
        """A connection for the calling thread (DuckDB connections are not thread-safe), in the
        shop timezone. SQL compiled by Ibis must run with ``timezone="UTC"``: Ibis casts
        TIMESTAMPTZ to TIMESTAMP in places (``epoch_seconds``), which reads the session zone."""
        cur = self._con.cursor()
        cur.execute(f"SET TimeZone = '{timezone or self.timezone}'")
        return cur

    @contextmanager
    def write(self, *, timezone: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Serialise writers inside this process; each write is one transaction."""
        with self._write_lock:
            cur = self.cursor(timezone=timezone)
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for a long write job (an import) that manages its own transactions."""
        with self._write_lock:
            cur = self.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def ibis(self) -> ibis.backends.duckdb.Backend:
        """An Ibis backend on a new cursor; the caller disconnects it. Ibis sets that cursor's
        TimeZone to UTC, so shop-local days must be computed explicitly (see analytics)."""
        import ibis

        return ibis.duckdb.from_connection(self.cursor())

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise KeyError(table)
        cur = self.cursor()
        try:
            row = cur.execute(f"SELECT count(*) FROM {table}").fetchall()
        finally:
            cur.close()
        return int(row[0][0]) if row else 0

    def scrub(self, tables: Iterable[str]) -> None:
        """Make deleted rows of ``tables`` unrecoverable from the database file (an erasure).

        DuckDB only marks deleted rows, and it does not clear the blocks it frees: the bytes
        stay in the file. So each table is rewritten (its row groups move to new blocks), the
        old blocks are freed at a checkpoint, and a filler table of random numbers as large as
        the free space takes them over before it is dropped. The cost grows with the tables'
        size; erasures are rare. See docs/privacy.md for what remains elsewhere."""
        names = [t for t in dict.fromkeys(tables) if t in TABLES]
        with self.write() as cur:
            for table in names:
                cur.execute(f"CREATE OR REPLACE TEMP TABLE _scrub AS SELECT * FROM {table}")
                cur.execute(f"DELETE FROM {table}")
                cur.execute(f"INSERT INTO {table} SELECT * FROM _scrub")
                cur.execute("DROP TABLE _scrub")
        with self._write_lock:
            cur = self.cursor()
            try:
                cur.execute("FORCE CHECKPOINT")
                free, size = cur.execute(
                    "SELECT free_blocks, block_size FROM pragma_database_size()"
                ).fetchall()[0]
                if free:
                    rows = 2 * (int(free) + 1) * int(size) // 8
                    cur.execute(
                        "CREATE TABLE _scrub_filler AS SELECT hash(i + random()) AS h, "
                        f"md5(i::VARCHAR || random()::VARCHAR) AS s FROM range({rows}) t(i)"
                    )
                    cur.execute("FORCE CHECKPOINT")
                    cur.execute("DROP TABLE _scrub_filler")
                    cur.execute("FORCE CHECKPOINT")
            finally:
                cur.close()

    def close(self) -> None:
        self._con.close()
