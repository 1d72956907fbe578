"""Importing files: stage in DuckDB, check every row, keep the good ones, report the rest.

Warehouse entities (orders, order items, events, spend) are upserted in one DuckDB transaction
per file, so a crash leaves the previous state and a re-run completes the import. Customers go
to the ledger in committed batches (each batch idempotent), then to the warehouse mirror.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from userops.catalog import store as catalog
from userops.core.clock import utcnow
from userops.core.errors import InvalidInput
from userops.core.sql import ident, literal
from userops.customers import bulk, consent, suppression
from userops.customers import service as customers
from userops.customers.schemas import PROFILE_FIELDS
from userops.ingest.files import spooled
from userops.ingest.models import ImportRun
from userops.ingest.schemas import ImportSummary
from userops.ingest.specs import ENTITIES, EntitySpec
from userops.ingest.staging import Staged, detect_format, stage, typed_expr
from userops.ledger import unit_of_work
from userops.warehouse import Warehouse
from userops.warehouse.files import write_csv
from userops.warehouse.tables import TABLES

Progress = Callable[[str, int, int | None], None]
"""progress(step, done, total): called as work advances; total None when unknown."""


BATCH_ROWS = 100_000
"""Rows per ledger batch unless the caller gives ``batch_rows`` (the CLI derives it from
``Settings.import_memory_limit``)."""


def _quiet(_step: str, _done: int, _total: int | None) -> None:
    return None


def import_file(
    *,
    engine: Engine,
    warehouse: Warehouse,
    rejects_dir: Path,
    entity: str,
    path: Path,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    progress: Progress = _quiet,
    now: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportSummary:
    """Import one file of ``entity``. ``encoding`` (``gb18030``, ``gbk``, ``utf-16``,
    ``utf-8-sig``…) transcodes a text file first; without it a file that is not UTF-8 is refused
    with the encoding it looks like. The file reaches DuckDB through the warehouse's spool."""
    spec = ENTITIES.get(entity)
    if spec is None:
        raise InvalidInput(
            f"unknown entity {entity!r}; known: {', '.join([*ENTITIES, 'cdnow'])}", field="entity"
        )
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="file")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty: nothing to import", field="file")
    fmt = detect_format(path, fmt)
    now = now or utcnow()
    run_id = _journal_start(engine, entity, path, now)
    try:
        with spooled(path, fmt, warehouse.spool_dir, encoding) as source, warehouse.writer() as cur:
            progress("read", 0, None)
            staged = stage(cur, spec, source, fmt, mapping or {})
            if staged.rows == 0 and staged.structural_rejects == 0:
                raise InvalidInput(f"{path.name} has no rows: nothing to import", field="file")
            progress("read", staged.rows, staged.rows)
            progress("check", 0, staged.rows)
            _check(cur, spec, staged, fmt)
            if spec.table == "products":
                catalog.check(cur)
            rejects_file = _write_rejects(cur, staged, rejects_dir, spec, now)
            summary = ImportSummary(
                rejected=_one(cur, "SELECT count(*) FROM _typed WHERE _reason IS NOT NULL")
                + staged.structural_rejects,
                rejects_file=str(rejects_file) if rejects_file else None,
            )
            _keep_last(cur, spec, summary)
            summary.suppressed = suppression.drop_suppressed(
                cur, engine, warehouse.path.parent, spec.name
            )
            progress("check", staged.rows, staged.rows)
            progress("write", 0, None)
            if spec.table == "customers":
                _load_customers(
                    cur, engine, warehouse, staged, summary, path, now, progress, batch_rows
                )
            elif spec.table == "products":
                catalog.load(cur, summary)
            else:
                _upsert_warehouse(cur, spec, summary)
                if spec.table == "orders":
                    summary.customers_created = _create_named_customers(
                        cur, engine, warehouse, "SELECT DISTINCT customer_id FROM _good", now
                    )
                if spec.table == "events":
                    _apply_identity(
                        cur, engine, warehouse, summary, path, now, batch_rows=batch_rows
                    )
            progress("write", 1, 1)
            for temp in ("_stage", "_stage_rejects", "_typed", "_good", "_gaps", "_jrec"):
                cur.execute(f"DROP TABLE IF EXISTS {temp}")
    except BaseException:
        _journal_end(engine, run_id, "failed", None)
        raise
    _journal_end(engine, run_id, "done", summary)
    return summary


def load_tracked(
    *,
    engine: Engine,
    warehouse: Warehouse,
    rejects_dir: Path,
    path: Path,
    now: datetime | None = None,
) -> ImportSummary:
    """Import one segment of the tracking journal (JSON lines written by the tracking API).

    The same staging and checks as ``import events``; then, unlike a file import, the *first*
    message of a ``message_id`` wins and messages already in the warehouse are skipped (SDK
    retries, journal replays after a crash). Identities and profiles are applied from every valid
    message of the segment (those writes are idempotent, so a replay completes them); new events,
    and the orders and order items of e-commerce events among them, are inserted in one
    warehouse transaction."""
    spec = ENTITIES["events"]
    now = now or utcnow()
    with spooled(path, "jsonl", warehouse.spool_dir) as source, warehouse.writer() as cur:
        staged = stage(cur, spec, source, "jsonl", {})
        _check(cur, spec, staged, "jsonl")
        summary = ImportSummary()
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _good AS SELECT * EXCLUDE (_reason, _line_no) "
            "FROM _typed WHERE _reason IS NULL QUALIFY row_number() OVER (PARTITION BY "
            "message_id ORDER BY _rec) = 1"
        )
        summary.suppressed = suppression.drop_suppressed(
            cur, engine, warehouse.path.parent, "events"
        )
        _apply_tracked_identity(cur, engine, warehouse, summary, path, now)
        rejects_file = _write_rejects(cur, staged, rejects_dir, spec, now)
        summary.rejected = _one(cur, "SELECT count(*) FROM _typed WHERE _reason IS NOT NULL")
        summary.rejects_file = str(rejects_file) if rejects_file else None
        valid = _one(cur, "SELECT count(*) FROM _typed WHERE _reason IS NULL") - summary.suppressed
        columns = list(TABLES["events"])
        cols = ", ".join(ident(c) for c in columns)
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE _fresh AS SELECT * FROM _good g WHERE NOT EXISTS "
                "(SELECT 1 FROM events t WHERE t.message_id = g.message_id)"
            )
            summary.imported = _one(cur, "SELECT count(*) FROM _fresh")
            summary.duplicates = valid - summary.imported
            cur.execute(f"INSERT INTO events ({cols}) SELECT {cols} FROM _fresh")
            _orders_from_events(cur)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        for temp in (
            *("_stage", "_typed", "_good", "_good_all", "_fresh", "_fresh_who", "_jrec", "_oev"),
            *("_ord", "_items"),
        ):
            cur.execute(f"DROP TABLE IF EXISTS {temp}")
    return summary


_REFUSALS = (sa_exc.DataError, sa_exc.IntegrityError)
"""What a ledger answers about one row's values (too long for its column, a NUL byte, a
constraint): such a row is isolated. Anything else (the ledger down, a missing table) fails
the whole segment, which the tracker retries and, at worst, sets aside."""


def _apply_tracked_identity(
    cur: duckdb.DuckDBPyConnection,
    engine: Engine,
    warehouse: Warehouse,
    summary: ImportSummary,
    path: Path,
    now: datetime,
) -> None:
    """:func:`_apply_identity` for a journal segment, where one bad message must not keep the
    others (acknowledged as durable) out of the warehouse: when the ledger refuses a row, the
    messages of ``_good`` are bisected, in journal order, until each refused one stands alone;
    those get their refusal as ``_reason`` in ``_typed`` (so they go to the rejects file and
    not to the warehouse) and the rest is applied again as a whole, which gives the same
    profiles as a segment that never held the bad rows (ledger writes are idempotent)."""
    try:
        _apply_identity(cur, engine, warehouse, summary, path, now)
        return
    except sa_exc.DBAPIError as exc:
        if _refused_by(exc) is None:
            raise
    records = [r[0] for r in cur.execute("SELECT _rec FROM _good ORDER BY _rec").fetchall()]
    cur.execute("CREATE OR REPLACE TEMP TABLE _good_all AS SELECT * FROM _good")
    refused: list[tuple[int, str]] = []

    def attempt(part: list[int]) -> None:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _good AS SELECT * FROM _good_all "
            "WHERE _rec BETWEEN ? AND ?",
            [part[0], part[-1]],
        )
        try:
            _apply_identity(cur, engine, warehouse, ImportSummary(), path, now)
        except sa_exc.DBAPIError as exc:
            refusal = _refused_by(exc)
            if refusal is None:
                raise
            if len(part) == 1:
                refused.append((part[0], _refusal(refusal)))
                return
            half = len(part) // 2
            attempt(part[:half])
            attempt(part[half:])

    half = len(records) // 2
    for part in (records[:half], records[half:]):
        if part:
            attempt(part)
    cur.executemany("UPDATE _typed SET _reason = ? WHERE _rec = ?", [(r, k) for k, r in refused])
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _good AS SELECT g.* FROM _good_all g JOIN _typed t "
        "USING (_rec) WHERE t._reason IS NULL"
    )
    _apply_identity(cur, engine, warehouse, summary, path, now)


def _refused_by(exc: BaseException) -> sa_exc.DBAPIError | None:
    """The ledger's refusal of a row behind ``exc`` (a cleanup in the failed transaction may
    raise a second error on top of it), or None when the ledger failed for another reason."""
    seen: BaseException | None = exc
    for _ in range(10):  # a short chain; never loop on a cyclic one
        if seen is None:
            break
        if isinstance(seen, _REFUSALS):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _refusal(exc: sa_exc.DBAPIError) -> str:
    """The ledger's reason, without the values it may quote (its first line never holds the
    row's data; PostgreSQL puts a key's value in DETAIL, on the next line)."""
    first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
    return f"ledger refused the row: {type(exc.orig).__name__}: {first}"[:300]


_ORDER_EVENTS = {
    "Order Completed": "paid",
    "Order Refunded": "refunded",
    "Order Cancelled": "cancelled",
}
"""Segment e-commerce events that write orders, and the order status each sets."""


def _orders_from_events(cur: duckdb.DuckDBPyConnection) -> None:
    """Orders and order items from the new e-commerce events in ``_fresh`` (inside the caller's
    transaction). Money: the spec's decimal amounts (``total``/``revenue``, ``discount``,
    ``price``) become integer fen through DECIMAL, never float. The customer is the message's
    user id (or the customer it was merged into), else the customer its anonymous id is linked
    to; an order with neither is not written (the event is kept), nor is one whose money the
    API refused (``order_refused`` in the journal line, see ``tracking.rules.order_refusal``).
    A refunded or cancelled order never goes back to paid."""
    statuses = " ".join(f"WHEN {literal(e)} THEN {literal(s)}" for e, s in _ORDER_EVENTS.items())
    names = ", ".join(literal(e) for e in _ORDER_EVENTS)
    bulk.attach_event_customer(cur, "_fresh", "_fresh_who")
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _oev AS SELECT "
        "json_extract_string(e.properties, '$.order_id') AS order_id, "
        "e._customer AS customer_id, "
        f"e.timestamp AS happened, e.event, CASE e.event {statuses} END AS status, "
        "try_cast(coalesce(json_extract_string(e.properties, '$.total'), "
        "json_extract_string(e.properties, '$.revenue')) AS DECIMAL(18, 2)) AS total, "
        "try_cast(json_extract_string(e.properties, '$.discount') AS DECIMAL(18, 2)) AS discount,"
        " nullif(json_extract_string(e.properties, '$.coupon'), '') AS coupon, "
        "json_extract_string(e.context, '$.campaign.source') AS channel, "
        "json_extract(e.properties, '$.products') AS products "
        "FROM _fresh_who e JOIN _stage s USING (_rec) "
        f"WHERE e.type = 'track' AND e.event IN ({names}) "
        # the API's money rules (a line that is not JSON is never among _fresh, but DuckDB may
        # evaluate this before the join has dropped it)
        "AND json_extract_string(CASE WHEN s._ok THEN s._line END, '$.order_refused') IS NULL"
    )
    cur.execute("DELETE FROM _oev WHERE order_id IS NULL OR order_id = '' OR customer_id IS NULL")
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _ord AS SELECT order_id, arg_max(customer_id, happened) AS "
        "customer_id, min(happened) AS created_at, arg_max(status, happened) AS status, "
        "min(happened) FILTER (WHERE status = 'paid') AS paid_at, "
        "arg_max(total, happened) FILTER (WHERE total IS NOT NULL) AS total, "
        "arg_max(discount, happened) FILTER (WHERE discount IS NOT NULL) AS discount, "
        "arg_max(coupon, happened) FILTER (WHERE coupon IS NOT NULL) AS coupon, "
        "arg_max(channel, happened) FILTER (WHERE channel IS NOT NULL) AS channel "
        "FROM _oev GROUP BY order_id"
    )
    cur.execute(
        "UPDATE orders SET status = CASE WHEN orders.status IN ('refunded', 'cancelled') "
        "THEN orders.status ELSE o.status END, paid_at = coalesce(orders.paid_at, o.paid_at) "
        "FROM _ord o WHERE orders.order_id = o.order_id AND orders.status <> o.status"
    )
    cur.execute(
        "INSERT INTO orders SELECT order_id, customer_id, created_at, CASE WHEN status IN "
        "('paid', 'refunded') THEN coalesce(paid_at, created_at) END, status, "
        "coalesce(CAST(total * 100 AS BIGINT), 0), coalesce(CAST(discount * 100 AS BIGINT), 0), "
        "CASE WHEN coupon IS NULL THEN NULL ELSE [coupon] END, channel FROM _ord o "
        "WHERE NOT EXISTS (SELECT 1 FROM orders t WHERE t.order_id = o.order_id)"
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _items AS SELECT order_id, "
        "coalesce(json_extract_string(p, '$.sku'), json_extract_string(p, '$.product_id')) AS sku,"
        " json_extract_string(p, '$.name') AS product_name, "
        "json_extract_string(p, '$.category') AS category, "
        "coalesce(try_cast(json_extract_string(p, '$.quantity') AS BIGINT), 1) AS quantity, "
        "coalesce(CAST(try_cast(json_extract_string(p, '$.price') AS DECIMAL(18, 2)) * 100 "
        "AS BIGINT), 0) AS price_fen FROM (SELECT order_id, unnest(from_json(products, "
        "'[\"JSON\"]')) AS p FROM _oev WHERE status = 'paid' AND products IS NOT NULL AND "
        "json_type(products) = 'ARRAY')"
    )
    cur.execute(
        "INSERT INTO order_items SELECT order_id, sku, product_name, category, quantity, "
        "price_fen FROM _items i WHERE sku IS NOT NULL AND quantity > 0 AND NOT EXISTS "
        "(SELECT 1 FROM order_items t WHERE t.order_id = i.order_id AND t.sku = i.sku) "
        "QUALIFY row_number() OVER (PARTITION BY order_id, sku) = 1"
    )


def _one(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = cur.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


_SQL_TYPES = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "posint": "BIGINT",
    "ts": "TIMESTAMPTZ",
    "date": "DATE",
    "list": "VARCHAR[]",
    "json": "JSON",
    "enum": "VARCHAR",
    "gender": "VARCHAR",
    "tz": "VARCHAR",
    "url": "VARCHAR",
    "yuan": "BIGINT",
    "category": "VARCHAR",
}


def _check(cur: duckdb.DuckDBPyConnection, spec: EntitySpec, staged: Staged, fmt: str) -> None:
    """Create ``_typed``: every target column typed, and ``_reason`` (NULL for good rows)."""
    stage_types = {row[0]: row[1] for row in cur.execute("DESCRIBE _stage").fetchall()}
    selects: list[str] = ["_rec"]
    reasons: list[str] = []
    if fmt == "jsonl":
        reasons.append("CASE WHEN NOT _ok THEN 'not a JSON object' END")
    for column in spec.columns:
        if column.name in staged.columns:
            typed, reason = typed_expr(column, stage_types)
            if column.required:
                reasons.append(
                    f"CASE WHEN nullif(trim({ident(column.name)}::VARCHAR), '') IS NULL "
                    f"THEN {literal(column.name + ': required')} END"
                )
            if reason:
                reasons.append(reason)
        elif column.required and not (spec.name == "events" and column.name == "type"):
            raise InvalidInput(
                f"{spec.name} file lacks the required column {column.name!r}; known columns: "
                f"{', '.join(spec.names)}",
                field=column.name,
            )
        else:
            typed = f"NULL::{_SQL_TYPES[column.kind]}"
        selects.append(f"{typed} AS {ident(column.name)}")
    selects.extend(ident(extra) for extra in staged.extras)
    reasons.extend(_row_rules(spec, staged))
    reason = f"coalesce({', '.join(reasons)})" if reasons else "NULL::VARCHAR"
    line = f"_rec + {staged.line_offset - 1}"
    selects[0] = f"{line} AS _line_no"
    source = "_stage"
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE _typed AS SELECT {', '.join(selects)}, "
        f"{reason} AS _reason, _rec FROM {source}"
    )
    if spec.name == "events":
        # Derived after typing: a stable id for messages that came without one.
        raw = (
            "_line"
            if fmt == "jsonl"
            else "concat_ws('|', "
            + ", ".join(f"s.{ident(c)}::VARCHAR" for c in staged.columns)
            + ")"
        )
        cur.execute(
            "UPDATE _typed SET message_id = (SELECT 'derived-' || md5(" + raw + ") FROM _stage s "
            "WHERE s._rec = _typed._rec) WHERE message_id IS NULL"
        )
        cur.execute('UPDATE _typed SET received_at = "timestamp" WHERE received_at IS NULL')


def _row_rules(spec: EntitySpec, staged: Staged) -> list[str]:
    present = set(staged.columns)
    rules: list[str] = []
    if spec.name == "events":
        if "type" not in present:
            rules.append("'type: required'")
        ids = [c for c in ("user_id", "anonymous_id") if c in present]
        id_test = " AND ".join(f"nullif(trim({ident(c)}), '') IS NULL" for c in ids) or "true"
        rules.append(f"CASE WHEN {id_test} THEN 'user_id: userId or anonymousId is required' END")
        if "event" in present:
            rules.append(
                "CASE WHEN lower(type) = 'track' AND nullif(trim(event), '') IS NULL "
                "THEN 'event: required for track' END"
            )
        else:
            rules.append("CASE WHEN lower(type) = 'track' THEN 'event: required for track' END")
        prev = "nullif(trim(previous_id), '') IS NULL" if "previous_id" in present else "true"
        rules.append(
            f"CASE WHEN lower(type) = 'alias' AND {prev} THEN 'previous_id: required for alias' END"
        )
        if "message_id" in present:
            rules.append(
                "CASE WHEN length(message_id) >= 100 THEN "
                "'message_id: must be shorter than 100 characters' END"
            )
    if spec.name == "orders" and "paid_at" in present:
        rules.append(
            "CASE WHEN lower(status) IN ('paid', 'refunded') AND "
            "nullif(trim(paid_at::VARCHAR), '') IS NULL THEN "
            "'paid_at: required when status is paid or refunded' END"
        )
    elif spec.name == "orders":
        rules.append(
            "CASE WHEN lower(status) IN ('paid', 'refunded') THEN "
            "'paid_at: required when status is paid or refunded' END"
        )
    return rules


def _write_rejects(
    cur: duckdb.DuckDBPyConnection,
    staged: Staged,
    directory: Path,
    spec: EntitySpec,
    now: datetime,
) -> Path | None:
    bad = _one(cur, "SELECT count(*) FROM _typed WHERE _reason IS NOT NULL")
    if bad == 0 and staged.structural_rejects == 0:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{spec.name}-{now.strftime('%Y%m%dT%H%M%S%fZ')}.csv"
    raw_cols = [c for c in (*staged.columns, *staged.extras)]
    raw = ", ".join(f"s.{ident(c)}::VARCHAR AS {ident(c)}" for c in raw_cols)
    if "_line" in {d[0] for d in cur.execute("SELECT * FROM _stage LIMIT 0").description}:
        raw = "s._line AS record"
    structural = ""
    if staged.structural_rejects:
        nulls = (
            ", ".join(f"NULL AS {ident(c)}" for c in raw_cols)
            if raw != "s._line AS record"
            else "csv_line"
        )
        structural = (
            f" UNION ALL SELECT line AS line, reason, {nulls} FROM _stage_rejects"
            if raw != "s._line AS record"
            else " UNION ALL SELECT line, reason, csv_line AS record FROM _stage_rejects"
        )
    result = cur.sql(
        f"SELECT * FROM (SELECT t._line_no AS line, t._reason AS reason, {raw} "
        f"FROM _typed t JOIN _stage s USING (_rec) WHERE t._reason IS NOT NULL{structural}) "
        "ORDER BY line"
    )
    write_csv(result.to_arrow_reader(20_000), target)
    return target


def _keep_last(cur: duckdb.DuckDBPyConnection, spec: EntitySpec, summary: ImportSummary) -> None:
    """``_good``: valid rows, the last one of each key."""
    keys = ", ".join(ident(k) for k in spec.key)
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _good AS SELECT * EXCLUDE (_reason, _rec, _line_no) "
        f"FROM _typed WHERE _reason IS NULL QUALIFY row_number() OVER (PARTITION BY {keys} "
        "ORDER BY _rec DESC) = 1"
    )
    valid = _one(cur, "SELECT count(*) FROM _typed WHERE _reason IS NULL")
    summary.duplicates = valid - _one(cur, "SELECT count(*) FROM _good")


def _upsert_warehouse(
    cur: duckdb.DuckDBPyConnection, spec: EntitySpec, summary: ImportSummary
) -> None:
    columns = list(TABLES[spec.table])
    table = ident(spec.table)
    cols = ", ".join(ident(c) for c in columns)
    defaults = {"discount_fen": "coalesce(discount_fen, 0)"}
    projected = ", ".join(f"{defaults.get(c, ident(c))} AS {ident(c)}" for c in columns)
    match = " AND ".join(f"t.{ident(k)} = g.{ident(k)}" for k in spec.key)
    differs = " OR ".join(
        f"t.{ident(c)}::VARCHAR IS DISTINCT FROM g.{ident(c)}::VARCHAR"
        for c in columns
        if c not in spec.key
    )
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _rows AS SELECT {projected} FROM _good")
    cur.execute("BEGIN TRANSACTION")
    try:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _changed AS SELECT g.* FROM _rows g JOIN {table} t "
            f"ON {match} WHERE {differs}"
        )
        summary.updated = _one(cur, "SELECT count(*) FROM _changed")
        if summary.updated:
            cur.execute(
                f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM _changed g WHERE {match})"
            )
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _changed")
        inserted = cur.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows g "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match})"
        ).fetchall()
        summary.imported = int(inserted[0][0]) if inserted else 0
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.execute("DROP TABLE IF EXISTS _changed")
        cur.execute("DROP TABLE IF EXISTS _rows")


def _create_named_customers(
    cur: duckdb.DuckDBPyConnection,
    engine: Engine,
    warehouse: Warehouse,
    ids_sql: str,
    now: datetime,
) -> int:
    """Customers named by orders or events but not known yet get a placeholder profile."""
    unknown = bulk.unknown_customer_ids(cur, ids_sql)
    if not unknown:
        return 0
    with unit_of_work(engine) as session:
        created = customers.create_placeholders(session, unknown, now=now)
    customers.mirror_placeholders(warehouse, sorted(created))
    stale = [c for c in unknown if c not in created]  # in the ledger, missing from the mirror
    if stale:
        with unit_of_work(engine) as session:
            customers.mirror(session, warehouse, stale)
    return len(created)


def _load_customers(
    cur: duckdb.DuckDBPyConnection,
    engine: Engine,
    warehouse: Warehouse,
    staged: Staged,
    summary: ImportSummary,
    path: Path,
    now: datetime,
    progress: Progress,
    batch_rows: int,
) -> None:
    """Profiles to the ledger in committed batches through its native bulk path, then the
    warehouse mirror set-based from the same rows (``customers.bulk``)."""
    fields = [f for f in PROFILE_FIELDS if f in staged.columns]
    if staged.extras:
        fields.append("attributes")
        pairs = ", ".join(f"{literal(e[len('attr_') :])}, {ident(e)}" for e in staged.extras)
        attrs = f"json_object({pairs})::VARCHAR"
    else:
        attrs = "NULL::VARCHAR"
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _profiles AS SELECT "
        f"* EXCLUDE ({', '.join(ident(e) for e in staged.extras) or '_nothing_'}), "
        f"{attrs} AS attributes FROM _good"
        if staged.extras
        else f"CREATE OR REPLACE TEMP TABLE _profiles AS SELECT *, {attrs} AS attributes FROM _good"
    )
    try:
        summary.imported, summary.updated = bulk.import_staged(
            cur,
            "_profiles",
            engine,
            fields=fields,
            source=f"import:{path.name}",
            now=now,
            batch_rows=batch_rows,
            progress=progress,
        )
        bulk.mirror_staged(cur, "_profiles", fields=fields)
    finally:
        cur.execute("DROP TABLE IF EXISTS _profiles")


def _apply_identity(
    cur: duckdb.DuckDBPyConnection,
    engine: Engine,
    warehouse: Warehouse,
    summary: ImportSummary,
    path: Path,
    now: datetime,
    *,
    batch_rows: int = BATCH_ROWS,
) -> None:
    """Identify and alias messages of this file: link ids, merge, fill profiles from traits."""
    source = f"import:{path.name}"
    summary.customers_created = _create_named_customers(
        cur,
        engine,
        warehouse,
        "SELECT DISTINCT user_id AS customer_id FROM _good WHERE type <> 'alias'",
        now,
    )
    aliases = cur.execute(
        "SELECT previous_id, user_id, message_id, timestamp FROM _good WHERE type = 'alias' "
        "AND user_id IS NOT NULL ORDER BY timestamp"
    ).fetchall()
    traits = _traits_profiles(cur)
    consents = consent.from_events(cur)
    changed: set[str] = set()
    with unit_of_work(engine) as session:
        # one set-based pass for every identify of the file (not one round trip per link)
        linked = bulk.link_identified(session, cur, "_good", source=source, batch_rows=batch_rows)
        changed |= linked
        for previous_id, user_id, message_id, at in aliases:
            target = customers.resolve(session, user_id=user_id, anonymous_id=None) or user_id
            if not customers.known_ids(session, [target]):
                customers.create_placeholders(session, [target], now=now)
            changed |= set(
                customers.alias(
                    session,
                    previous_id=previous_id,
                    user_id=user_id,
                    message_id=message_id,
                    at=at,
                    source=source,
                )
            )
        if traits:
            fields = sorted({k for row in traits for k in row if k in PROFILE_FIELDS})
            new, updated = customers.upsert_profiles(
                session, traits, fields=fields, partial=True, source=source, now=now
            )
            changed |= new | updated
        changed |= consent.apply_tracked(session, consents)
    if not (linked or aliases or traits or consents):
        return
    with unit_of_work(engine) as session:
        if changed:
            customers.mirror(session, warehouse, sorted(changed))
        if linked or aliases:
            customers.mirror_identities(session, warehouse)


_TRAIT_FIELDS = {
    "name": "$.name",
    "gender": "$.gender",
    "birthday": "$.birthday",
    "province": "$.address.state",
    "city": "$.address.city",
    "signup_at": "$.createdAt",
    "phone": "$.phone",
    "email": "$.email",
}


_MAPPED_TRAITS = {"name", "email", "phone", "gender", "birthday", "address", "createdAt", "consent"}
"""Reserved traits that map to profile fields (``consent`` to consent records); every other
trait is a custom attribute."""


def _traits_profiles(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The newest identify traits of each user, as partial profiles: the spec's reserved traits
    become profile fields, the others custom ``attributes`` (merged into the stored ones). A
    ``Signed Up`` track sets the signup time (and channel, from ``context.campaign.source``)."""
    picks = ", ".join(
        f"nullif(json_extract_string(g.traits, {literal(p)}), '') AS {ident(f)}"
        for f, p in _TRAIT_FIELDS.items()
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _traits AS SELECT * FROM _good g WHERE g.type = "
        "'identify' AND g.user_id IS NOT NULL AND g.traits IS NOT NULL QUALIFY row_number() "
        "OVER (PARTITION BY g.user_id ORDER BY g.timestamp DESC) = 1"
    )
    bulk.attach_stored_attributes(cur, "_traits", "_traits_a", "user_id")
    rows = cur.execute(
        f"SELECT g.user_id AS customer_id, {picks}, g.traits::VARCHAR, g._stored_attributes "
        "FROM _traits_a g"
    ).fetchall()
    cur.execute("DROP TABLE _traits")
    cur.execute("DROP TABLE _traits_a")
    signups = {
        row[0]: (row[1], row[2])
        for row in cur.execute(
            "SELECT user_id, min(timestamp), arg_min(json_extract_string(context, "
            "'$.campaign.source'), timestamp) FROM _good WHERE type = 'track' AND event = "
            "'Signed Up' AND user_id IS NOT NULL GROUP BY user_id"
        ).fetchall()
    }
    out = []
    for row in rows:
        record = dict(zip(["customer_id", *_TRAIT_FIELDS], row[:-2], strict=True))
        custom = {k: v for k, v in json.loads(row[-2]).items() if k not in _MAPPED_TRAITS}
        if custom:
            record["attributes"] = {**json.loads(row[-1] or "{}"), **custom}
        if record["customer_id"] in signups:
            signup_at, channel = signups.pop(record["customer_id"])
            record["signup_at"], record["signup_channel"] = signup_at.isoformat(), channel
        gender = (record.get("gender") or "").lower()
        record["gender"] = {"male": "male", "m": "male", "female": "female", "f": "female"}.get(
            gender
        )
        for field in ("birthday", "signup_at"):
            record[field] = _parse_time(record[field], date_only=field == "birthday")
        if any(v is not None for k, v in record.items() if k != "customer_id"):
            out.append(record)
    for customer_id, (signup_at, channel) in signups.items():
        out.append({"customer_id": customer_id, "signup_at": signup_at, "signup_channel": channel})
    return out


def _parse_time(value: str | None, *, date_only: bool) -> Any:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if date_only:
        return parsed.date()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _journal_start(engine: Engine, entity: str, path: Path, now: datetime) -> int:
    with unit_of_work(engine) as session:
        run = ImportRun(entity=entity, file_name=path.name, status="running", started_at=now)
        session.add(run)
        session.flush()
        return run.id


def _journal_end(engine: Engine, run_id: int, status: str, summary: ImportSummary | None) -> None:
    with unit_of_work(engine) as session:
        run = session.get(ImportRun, run_id)
        if run is None:
            return
        run.status = status
        run.finished_at = utcnow()
        if summary is not None:
            run.imported, run.updated = summary.imported, summary.updated
            run.rejected, run.duplicates = summary.rejected, summary.duplicates
            run.rejects_file = summary.rejects_file
