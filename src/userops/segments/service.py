"""The segments facade: save, list, preview, export, and record sizes and membership changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import sqlalchemy as sa
from sqlalchemy.orm import Session

from userops.core.clock import utcnow
from userops.core.errors import Conflict, InvalidInput, NotFound
from userops.segments import compile as compiler
from userops.segments.models import Segment
from userops.segments.schemas import Preview, SegmentRead, SizePoint
from userops.segments.tree import Node, parse_rule
from userops.tags import service as tags
from userops.warehouse import Warehouse
from userops.warehouse.erase import delete_customers
from userops.warehouse.files import write_csv, write_parquet

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a segment name needs 1 to 100 characters", field="name")
    return name


def _lookup(session: Session, draft: tuple[str, Any] | None = None) -> Callable[[str], Node]:
    """Saved segments by name; ``draft`` is a (name, rule) being saved, so that a rule naming
    its own segment is caught as a cycle."""

    def find(name: str) -> Node:
        if draft is not None and name == draft[0]:
            return parse_rule(draft[1])
        found = session.execute(sa.select(Segment).where(Segment.name == name)).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no segment {name!r}", field="segment")
        return parse_rule(found.rule)

    return find


def validate(session: Session, warehouse: Warehouse, rule: Any, *, name: str | None = None) -> Node:
    """Parse and compile (without running) so every error surfaces before saving."""
    node = parse_rule(rule)
    con = warehouse.ibis()
    try:
        draft = (name, rule) if name else None
        ctx = compiler.Context(con, utcnow(), _lookup(session, draft), warehouse.timezone)
        if name:
            ctx._visiting.add(name)
        ibis.to_sql(compiler.members(node, ctx), dialect="duckdb")
    finally:
        con.disconnect()
    return node


def create(
    session: Session,
    warehouse: Warehouse,
    *,
    name: str,
    rule: Any,
    description: str | None = None,
    replace: bool = False,
) -> SegmentRead:
    name = _check_name(name)
    validate(session, warehouse, rule, name=name)
    now = utcnow()
    found = session.execute(sa.select(Segment).where(Segment.name == name)).scalar_one_or_none()
    if found is not None and not replace:
        raise Conflict(f"segment {name!r} exists (use replace to change its rule)", field="name")
    if found is None:
        found = Segment(
            name=name, rule=rule, description=description, created_at=now, updated_at=now
        )
        session.add(found)
    else:
        found.rule, found.description, found.updated_at = rule, description, now
    session.flush()
    return SegmentRead.model_validate(found, from_attributes=True)


def save_list(
    session: Session,
    warehouse: Warehouse,
    *,
    name: str,
    customer_ids: list[str],
    description: str | None = None,
) -> SegmentRead:
    """A segment of exactly these customers (e.g. the people who dropped at a funnel step): they
    get the manual tag ``list:<name>`` and the segment selects that tag. Ids of people who are
    not customers (anonymous visitors) are left out. Saving again replaces the list."""
    name = _check_name(name)
    tag = f"list:{name}"
    old = tags.tagged_by_hand(warehouse, tag)
    if old:
        tags.remove_manual(warehouse, old, tag)
    tags.add_manual(warehouse, customer_ids, tag, source=f"segment:{name}", skip_unknown=True)
    return create(
        session,
        warehouse,
        name=name,
        rule={"tag": "manual", "value": tag},
        description=description,
        replace=True,
    )


def get(session: Session, name: str) -> SegmentRead:
    found = session.execute(sa.select(Segment).where(Segment.name == name)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no segment {name!r}", field="segment")
    return SegmentRead.model_validate(found, from_attributes=True)


def list_all(session: Session) -> list[SegmentRead]:
    rows = session.execute(sa.select(Segment).order_by(Segment.name)).scalars()
    return [SegmentRead.model_validate(r, from_attributes=True) for r in rows]


def delete(session: Session, warehouse: Warehouse, name: str) -> None:
    found = session.execute(sa.select(Segment).where(Segment.name == name)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no segment {name!r}", field="segment")
    session.delete(found)
    session.flush()
    with warehouse.write() as cur:
        cur.execute("DELETE FROM segment_members WHERE segment = ?", [name])


def members_table(
    session: Session,
    con: ibis.BaseBackend,
    name: str,
    *,
    timezone: str,
    now: datetime | None = None,
) -> ibis.Table:
    """The saved segment's members as an Ibis table (``customer_id``) on ``con``, for other
    domains' queries (a retention report restricted to a segment). ``timezone``: the shop's,
    which gives the dates typed in the rule their day."""
    rule = get(session, name).rule
    ctx = compiler.Context(con, now or utcnow(), _lookup(session), timezone)
    return compiler.members(parse_rule(rule), ctx)


def members_builder(
    session: Session, name: str | None, *, timezone: str
) -> Callable[[ibis.BaseBackend], ibis.Table] | None:
    """For reports restricted to a saved segment: a function building its members on the
    report's backend (None without a name). An unknown name is refused at once."""
    if not name:
        return None
    get(session, name)
    return lambda con: members_table(session, con, name, timezone=timezone)


def members_sql(
    session: Session, warehouse: Warehouse, rule: Any, *, now: datetime | None = None
) -> str:
    """The SQL (DuckDB) selecting the matching ``customer_id``s."""
    node = parse_rule(rule)
    con = warehouse.ibis()
    try:
        ctx = compiler.Context(con, now or utcnow(), _lookup(session), warehouse.timezone)
        return str(ibis.to_sql(compiler.members(node, ctx), dialect="duckdb"))
    finally:
        con.disconnect()


def preview(
    session: Session,
    warehouse: Warehouse,
    rule: Any,
    *,
    sample: int = 10,
    now: datetime | None = None,
) -> Preview:
    sql = members_sql(session, warehouse, rule, now=now)
    cur = warehouse.cursor(timezone="UTC")  # Ibis-compiled SQL
    try:
        # One pass: the window count rides along with the first ids of the sorted members.
        rows = cur.execute(
            f"SELECT customer_id, count(*) OVER () FROM ({sql}) ORDER BY customer_id "
            f"LIMIT {max(int(sample), 1)}"
        ).fetchall()
    finally:
        cur.close()
    count = int(rows[0][1]) if rows else 0
    return Preview(count=count, sample=[r[0] for r in rows[: int(sample)]])


def export(session: Session, warehouse: Warehouse, name: str, out: Path) -> int:
    segment = get(session, name)
    suffix = out.suffix.lower()
    if suffix not in {".csv", ".parquet"}:
        raise InvalidInput("export to a .csv or .parquet file", field="out")
    sql = members_sql(session, warehouse, segment.rule)
    out.parent.mkdir(parents=True, exist_ok=True)
    write = write_parquet if suffix == ".parquet" else write_csv
    cur = warehouse.cursor(timezone="UTC")  # Ibis-compiled SQL
    try:
        # Streamed by pyarrow: the warehouse's DuckDB may not write outside its spool.
        members = cur.sql(f"SELECT customer_id FROM ({sql}) ORDER BY customer_id")
        return write(members.to_arrow_reader(100_000), out)
    finally:
        cur.close()


def record_all(
    session: Session,
    warehouse: Warehouse,
    *,
    as_of: datetime,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> dict[str, dict[str, int]]:
    """Recompute every saved segment as of ``as_of``: size, who entered and who left."""
    saved = list_all(session)
    refreshed_at = utcnow()
    out: dict[str, dict[str, int]] = {}
    for i, segment in enumerate(saved):
        if progress:
            progress("segments", i, len(saved))
        sql = members_sql(session, warehouse, segment.rule, now=as_of)
        with warehouse.write(timezone="UTC") as cur:  # Ibis-compiled SQL
            cur.execute(f"CREATE OR REPLACE TEMP TABLE _now AS {sql}")
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE _before AS SELECT customer_id FROM segment_members "
                "WHERE segment = ?",
                [segment.name],
            )
            entered = cur.execute(
                "INSERT INTO segment_changes SELECT ?, ?, customer_id, 'entered' FROM _now "
                "WHERE customer_id NOT IN (SELECT customer_id FROM _before)",
                [as_of, segment.name],
            ).fetchall()[0][0]
            left = cur.execute(
                "INSERT INTO segment_changes SELECT ?, ?, customer_id, 'left' FROM _before "
                "WHERE customer_id NOT IN (SELECT customer_id FROM _now)",
                [as_of, segment.name],
            ).fetchall()[0][0]
            cur.execute("DELETE FROM segment_members WHERE segment = ?", [segment.name])
            cur.execute(
                "INSERT INTO segment_members SELECT ?, customer_id FROM _now", [segment.name]
            )
            size = cur.execute("SELECT count(*) FROM _now").fetchall()[0][0]
            cur.execute(
                "INSERT INTO segment_history VALUES (?, ?, ?, ?, ?, ?)",
                [as_of, refreshed_at, segment.name, size, entered, left],
            )
            cur.execute("DROP TABLE _now")
            cur.execute("DROP TABLE _before")
        out[segment.name] = {"size": int(size), "entered": int(entered), "left": int(left)}
    if progress:
        progress("segments", len(saved), len(saved))
    return out


def history(warehouse: Warehouse, name: str) -> list[SizePoint]:
    cur = warehouse.cursor()
    try:
        rows = cur.execute(
            'SELECT as_of, size, entered, "left" FROM segment_history WHERE segment = ? '
            "ORDER BY refreshed_at",
            [name],
        ).fetchall()
    finally:
        cur.close()
    return [SizePoint(as_of=a, size=int(s), entered=int(e), left=int(x)) for a, s, e, x in rows]


_ERASED_TABLES = ("segment_members", "segment_changes")


def erase_customer(cur: duckdb.DuckDBPyConnection, customer_ids: list[str]) -> dict[str, int]:
    """Delete these customers' segment memberships and membership changes (an erasure, inside
    the caller's warehouse transaction ``cur``); sizes over time stay (they are counts).
    Returns rows removed per table."""
    return delete_customers(cur, _ERASED_TABLES, customer_ids)
