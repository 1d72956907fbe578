"""One DuckDB database per data dir, owned by one process at a time (see docs/decisions/0001).

The connection runs with DuckDB's external access disabled (docs/decisions/0009): SQL on it can
read and write its own tables, and files only in ``spool_dir``, where the importers place the
files they read. The configuration is locked, except the per-cursor settings that the code and
Ibis change (``SETTABLE``), so no statement can turn file access back on."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from userops.core.sql import ident, literal
from userops.warehouse.tables import TABLES, create_statements

if TYPE_CHECKING:
    import ibis.backends.duckdb


SETTABLE = ("TimeZone", "python_enable_replacements")
"""Settings that stay changeable after the lock: the session time zone (shop zone or UTC per
cursor) and the replacement-scan switch Ibis turns off on every connection it wraps."""


class Warehouse:
    """The process's DuckDB connection. Threads take their own cursor; writers take ``write``."""

    def __init__(self, path: Path, *, timezone: str, memory_limit: str | None = None) -> None:
        self.path = path
        self.timezone = timezone
        self.spool_dir = path.parent / "imports"
        """The one directory DuckDB may read and write files in (see ``ingest.files``)."""
        # What a crashed import left (copies of user files): the owner's lock is held, so
        # nothing else uses the spool now.
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        config: dict[str, str] = {"temp_directory": str(path.parent / "duckdb-spill")}
        if memory_limit:
            config["memory_limit"] = memory_limit
        self._con = duckdb.connect(str(path), config=config)
        self._write_lock = threading.RLock()
        self.derived: dict[str, object] = {}
        """State derived from this warehouse that a domain keeps in memory while it is open
        (the recommendation index): the one place for such caches, so none outlives the
        warehouse it came from. Keys are ``"<domain>.<name>"``."""
        self.derived_lock = threading.Lock()
        self._con.execute(f"SET TimeZone = {literal(timezone)}")
        for statement in create_statements():
            self._con.execute(statement)
        self._confine()

    def _confine(self) -> None:
        """External access off, the spool allowed, the configuration locked (in that order:
        DuckDB takes allowed directories only before access is disabled)."""
        spool = literal(str(self.spool_dir) + "/")
        self._con.execute(f"SET allowed_directories = [{spool}]")
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET autoinstall_known_extensions = false")
        settable = ", ".join(literal(name) for name in SETTABLE)
        self._con.execute(f"SET allowed_configs = [{settable}]")
        self._con.execute("SET lock_configuration = true")

    def cursor(self, *, timezone: str | None = None) -> duckdb.DuckDBPyConnection:
        """A connection for the calling thread (DuckDB connections are not thread-safe), in the
        shop timezone. SQL compiled by Ibis must run with ``timezone="UTC"``: Ibis casts
        TIMESTAMPTZ to TIMESTAMP in places (``epoch_seconds``), which reads the session zone."""
        cur = self._con.cursor()
        cur.execute(f"SET TimeZone = {literal(timezone or self.timezone)}")
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
            row = cur.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()
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
