"""Erasing one person from what ingest owns: events (under every id of theirs), orders and
their items, rejects files and journal segments that were not loaded.

Called by :mod:`userops.customers.erasure`, which gathers the person's ids and holds the
workflow. Files are rewritten atomically (a temporary file beside, fsync, rename), so a crash
leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from userops.ingest.tracking.journal import segments

Mentions = Callable[[str], bool]
"""Does this text (a JSON line, a CSV field) name the person?"""


def erase_customer(
    cur: duckdb.DuckDBPyConnection, customer_ids: list[str], ids: list[str]
) -> dict[str, int]:
    """Delete events sent under any of ``ids`` (user id, anonymous id, alias's previous id) and
    the orders of ``customer_ids`` with their items, inside the caller's transaction ``cur``.

    Orders are removed, not detached (docs/decisions/0010-erasure.md): the caller records the
    number and paid total removed in the erasure audit so that revenue can be reconciled."""
    cur.register("_erased_ids", pa.table({"v": pa.array(ids, pa.string())}))
    cur.register("_erased_customers", pa.table({"v": pa.array(customer_ids, pa.string())}))
    try:
        events = cur.execute(
            "DELETE FROM events WHERE user_id IN (SELECT v FROM _erased_ids) OR anonymous_id IN "
            "(SELECT v FROM _erased_ids) OR previous_id IN (SELECT v FROM _erased_ids)"
        ).fetchall()[0][0]
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _erased_orders AS SELECT order_id, status, amount_fen "
            "FROM orders WHERE customer_id IN (SELECT v FROM _erased_customers)"
        )
        paid = cur.execute(
            "SELECT count(*), coalesce(sum(amount_fen), 0) FROM _erased_orders WHERE status = "
            "'paid'"
        ).fetchall()[0]
        items = cur.execute(
            "DELETE FROM order_items WHERE order_id IN (SELECT order_id FROM _erased_orders)"
        ).fetchall()[0][0]
        orders = cur.execute(
            "DELETE FROM orders WHERE order_id IN (SELECT order_id FROM _erased_orders)"
        ).fetchall()[0][0]
        cur.execute("DROP TABLE _erased_orders")
    finally:
        cur.unregister("_erased_ids")
        cur.unregister("_erased_customers")
    return {
        "events": int(events),
        "orders": int(orders),
        "order_items": int(items),
        "paid_orders_removed": int(paid[0]),
        "paid_fen_removed": int(paid[1]),
    }


def _rewrite(path: Path, keep: Callable[[bytes], bytes | None]) -> int:
    """Rewrite ``path`` through ``keep`` (the new content, or None to leave it); atomically."""
    old = path.read_bytes()
    new = keep(old)
    if new is None or new == old:
        return 0
    tmp = path.with_name(f".{path.name}.erase")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(new)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return 1


def scrub_rejects(directory: Path, mentions: Mentions) -> int:
    """Rewrite every rejects file without the rows that name the person (a field equal to one
    of their ids or contact points, or a JSON record mentioning one); returns rows removed."""
    if not directory.is_dir():
        return 0
    removed = 0
    for path in sorted(directory.glob("*.csv")):
        dropped = 0

        def keep(data: bytes) -> bytes | None:
            nonlocal dropped
            rows = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))
            kept = [r for i, r in enumerate(rows) if i == 0 or not any(map(mentions, r))]
            dropped = len(rows) - len(kept)
            if not dropped:
                return None
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(kept)
            return out.getvalue().encode("utf-8")

        _rewrite(path, keep)
        removed += dropped
    return removed


def scrub_journal(directory: Path, mentions: Mentions, *, sealed: list[Path] | None) -> int:
    """Rewrite journal segments without the lines that name the person: ``sealed`` (every
    segment of ``directory`` when None: no server is writing) and those set aside in
    ``failed/``. The caller keeps the loader away meanwhile. Returns lines removed."""
    if not directory.is_dir():
        return 0
    paths = list(sealed) if sealed is not None else [p for _, p in segments(directory)]
    failed = directory / "failed"
    if failed.is_dir():
        paths += sorted(p for p in failed.iterdir() if p.is_file() and not p.name.startswith("."))
    removed = 0
    for path in paths:
        dropped = 0

        def keep(data: bytes) -> bytes | None:
            nonlocal dropped
            lines = data.splitlines(keepends=True)
            kept = [line for line in lines if not mentions(line.decode("utf-8", "replace"))]
            dropped = len(lines) - len(kept)
            return b"".join(kept) if dropped else None

        _rewrite(path, keep)
        removed += dropped
    return removed
