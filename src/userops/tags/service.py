"""The customer system's facade: refresh the tags, read them, manual tags, transitions."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from userops.core.clock import utcnow
from userops.core.errors import InvalidInput, NotFound
from userops.customers import queries as customer_queries
from userops.tags import queries
from userops.tags.rules import COUNTED_FAMILIES, FAMILIES, TagSettings, city_tiers
from userops.tags.schemas import CustomerTags, RefreshResult, Transition
from userops.warehouse import Warehouse
from userops.warehouse.erase import delete_customers

_SINGLE_VALUED = [f for f in FAMILIES if f != "interest"]


def refresh(warehouse: Warehouse, *, as_of: datetime, settings: TagSettings) -> RefreshResult:
    """Recompute every computed tag as of ``as_of`` in one warehouse transaction (a failed or
    killed refresh leaves the previous tags), keep a dated snapshot, and return the counts."""
    if as_of.tzinfo is None:
        raise InvalidInput("as_of must be timezone-aware", field="as_of")
    started = time.perf_counter()
    con = warehouse.ibis()
    try:
        expr = queries.tag_values(
            con, as_of, settings, con.table("ref_city_tiers"), timezone=warehouse.timezone
        )
        sql = ibis.to_sql(expr, dialect="duckdb")
    finally:
        con.disconnect()
    tiers = city_tiers()
    tier_table = pa.table(
        {"tier_city": list(tiers), "tier": list(tiers.values())},
    )
    unpivot = ", ".join(f'"{f}"' for f in _SINGLE_VALUED)
    counted = ", ".join(f"'{f}'" for f in COUNTED_FAMILIES)
    with warehouse.write(timezone="UTC") as cur:  # runs Ibis-compiled SQL
        cur.register("_tiers", tier_table)
        cur.execute("DELETE FROM ref_city_tiers")
        cur.execute("INSERT INTO ref_city_tiers SELECT * FROM _tiers")
        cur.unregister("_tiers")
        cur.execute("DELETE FROM customer_tag_values")
        cur.execute(f"INSERT INTO customer_tag_values BY NAME {sql}")
        cur.execute("DELETE FROM customer_tags WHERE family <> 'manual'")
        cur.execute(
            "INSERT INTO customer_tags SELECT customer_id, family, value FROM (SELECT "
            f"customer_id, {', '.join(_select_as_text(f) for f in _SINGLE_VALUED)} "
            f"FROM customer_tag_values) UNPIVOT (value FOR family IN ({unpivot}))"
        )
        cur.execute(
            "INSERT INTO customer_tags SELECT DISTINCT customer_id, 'interest', "
            "unnest(interests) FROM customer_tag_values WHERE interests IS NOT NULL"
        )
        cur.execute("DELETE FROM tag_snapshots WHERE as_of = ?", [as_of])
        cur.execute(
            "INSERT INTO tag_snapshots SELECT ?, customer_id, family, value FROM customer_tags "
            f"WHERE family IN ({counted})",
            [as_of],
        )
        customers = int(cur.execute("SELECT count(*) FROM customer_tag_values").fetchall()[0][0])
        counts = _counts(cur)
        cur.execute(
            "INSERT INTO tag_refreshes VALUES (?, ?, ?, ?)",
            [as_of, utcnow(), customers, json.dumps(counts, ensure_ascii=False)],
        )
    return RefreshResult(
        as_of=as_of,
        customers=customers,
        counts=counts,
        seconds=round(time.perf_counter() - started, 3),
    )


def _select_as_text(family: str) -> str:
    return f'"{family}"::VARCHAR AS "{family}"'


def _counts(cur: Any) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {f: {} for f in COUNTED_FAMILIES}
    rows = cur.execute(
        "SELECT family, value, count(*) FROM customer_tags WHERE family IN "
        f"({', '.join(repr(f) for f in COUNTED_FAMILIES)}) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    for family, value, n in rows:
        counts[family][value] = int(n)
    return counts


def counts(warehouse: Warehouse, families: tuple[str, ...] = FAMILIES) -> dict[str, dict[str, int]]:
    """Current customers per tag value, for every family asked."""
    cur = warehouse.cursor()
    try:
        rows = cur.execute(
            "SELECT family, value, count(*) FROM customer_tags GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        cur.close()
    out: dict[str, dict[str, int]] = {f: {} for f in families}
    for family, value, n in rows:
        if family in out:
            out[family][value] = int(n)
    return out


def last_refresh(warehouse: Warehouse) -> dict[str, Any] | None:
    cur = warehouse.cursor()
    try:
        rows = cur.execute(
            "SELECT as_of, refreshed_at, customers, counts FROM tag_refreshes "
            "ORDER BY refreshed_at DESC LIMIT 1"
        ).fetchall()
    finally:
        cur.close()
    if not rows:
        return None
    as_of, refreshed_at, customers, counted = rows[0]
    return {
        "as_of": as_of,
        "refreshed_at": refreshed_at,
        "customers": int(customers),
        "counts": json.loads(counted),
    }


def show(warehouse: Warehouse, customer_id: str) -> CustomerTags:
    cur = warehouse.cursor()
    try:
        values = cur.execute(
            "SELECT * FROM customer_tag_values WHERE customer_id = ?", [customer_id]
        )
        names = [d[0] for d in values.description]
        row = values.fetchall()
        tags = cur.execute(
            "SELECT family, value FROM customer_tags WHERE customer_id = ? ORDER BY ALL",
            [customer_id],
        ).fetchall()
        known = customer_queries.known_ids(cur, [customer_id])
    finally:
        cur.close()
    if not row and not tags and not known:
        raise NotFound(f"no customer {customer_id!r}", field="customer_id")
    record = dict(zip(names, row[0], strict=True)) if row else {}
    grouped: dict[str, list[str]] = {}
    for family, value in tags:
        grouped.setdefault(family, []).append(value)
    return CustomerTags(
        customer_id=customer_id,
        as_of=record.pop("as_of", None),
        tags=grouped,
        values={k: v for k, v in record.items() if k != "customer_id"},
    )


def transitions(warehouse: Warehouse, family: str = "lifecycle") -> Transition:
    """How customers moved between the values of ``family`` from the previous snapshot to the
    latest one ("312 active customers went silent")."""
    if family not in COUNTED_FAMILIES:
        raise InvalidInput(
            f"no snapshots of {family!r}; known: {', '.join(COUNTED_FAMILIES)}", field="family"
        )
    cur = warehouse.cursor()
    try:
        dates = [
            r[0]
            for r in cur.execute(
                "SELECT DISTINCT as_of FROM tag_snapshots ORDER BY as_of DESC LIMIT 2"
            ).fetchall()
        ]
        if len(dates) < 2:
            return Transition(
                family=family, previous_as_of=None, as_of=dates[0] if dates else None, moves=[]
            )
        rows = cur.execute(
            "WITH a AS (SELECT customer_id, value FROM tag_snapshots WHERE as_of = ? AND "
            "family = ?), b AS (SELECT customer_id, value FROM tag_snapshots WHERE as_of = ? "
            "AND family = ?) SELECT a.value, b.value, count(*) FROM a FULL JOIN b USING "
            "(customer_id) WHERE a.value IS DISTINCT FROM b.value GROUP BY ALL "
            "ORDER BY 3 DESC",
            [dates[1], family, dates[0], family],
        ).fetchall()
    finally:
        cur.close()
    return Transition(
        family=family,
        previous_as_of=dates[1],
        as_of=dates[0],
        moves=[{"from": a, "to": b, "customers": int(n)} for a, b, n in rows],
    )


def add_manual(
    warehouse: Warehouse,
    customer_ids: list[str],
    tag: str,
    *,
    source: str,
    skip_unknown: bool = False,
) -> int:
    """Tag these customers by hand; returns how many were newly tagged. Unknown ids are refused
    (all or nothing) with the first few named, or left out with ``skip_unknown``."""
    tag = _check_tag(tag)
    ids = pa.table({"customer_id": pa.array(list(dict.fromkeys(customer_ids)), pa.string())})
    with warehouse.write() as cur:
        known = customer_queries.known_ids(cur, ids.column("customer_id").to_pylist())
        if skip_unknown:
            ids = ids.filter(pa.array([c in known for c in ids.column("customer_id").to_pylist()]))
        unknown = [c for c in ids.column("customer_id").to_pylist() if c not in known][:5]
        if unknown:
            raise NotFound(f"unknown customer id(s): {', '.join(unknown)}", field="customer_id")
        cur.register("_ids", ids)
        added = cur.execute(
            "INSERT INTO manual_tags SELECT customer_id, ?, ?, ? FROM _ids WHERE "
            "customer_id NOT IN (SELECT customer_id FROM manual_tags WHERE tag = ?)",
            [tag, utcnow(), source, tag],
        ).fetchall()[0][0]
        cur.execute(
            "INSERT INTO customer_tags SELECT customer_id, 'manual', ? FROM _ids WHERE "
            "customer_id NOT IN (SELECT customer_id FROM customer_tags WHERE family = 'manual' "
            "AND value = ?)",
            [tag, tag],
        )
        cur.unregister("_ids")
    return int(added)


def tagged_by_hand(warehouse: Warehouse, tag: str) -> list[str]:
    """The customers carrying the manual tag ``tag`` (e.g. ``list:<segment>``)."""
    cur = warehouse.cursor()
    try:
        rows = cur.execute("SELECT customer_id FROM manual_tags WHERE tag = ?", [tag]).fetchall()
    finally:
        cur.close()
    return [r[0] for r in rows]


def remove_manual(warehouse: Warehouse, customer_ids: list[str], tag: str) -> int:
    tag = _check_tag(tag)
    ids = pa.table({"customer_id": pa.array(list(dict.fromkeys(customer_ids)), pa.string())})
    with warehouse.write() as cur:
        cur.register("_ids", ids)
        removed = cur.execute(
            "DELETE FROM manual_tags WHERE tag = ? AND customer_id IN (SELECT customer_id "
            "FROM _ids)",
            [tag],
        ).fetchall()[0][0]
        cur.execute(
            "DELETE FROM customer_tags WHERE family = 'manual' AND value = ? AND customer_id IN "
            "(SELECT customer_id FROM _ids)",
            [tag],
        )
        cur.unregister("_ids")
    return int(removed)


def _check_tag(tag: str) -> str:
    tag = tag.strip()
    if not tag or len(tag) > 64:
        raise InvalidInput("a tag needs 1 to 64 characters", field="tag")
    return tag


def rfm_grid(warehouse: Warehouse) -> list[dict[str, Any]]:
    """The eight RFM classes (``rfm_cn``) of the last refresh, in the order of ``RFM_CN``:
    customers, revenue (sum of ``monetary_fen``, fen) and AOV (revenue // paid orders, fen)."""
    from userops.tags.rules import RFM_CN

    con = warehouse.ibis()
    try:
        values = queries.current_values(con)
        values = values.filter(values.rfm_cn.notnull())
        per = values.group_by("rfm_cn").aggregate(
            customers=values.count(),
            revenue_fen=values.monetary_fen.sum(),
            orders=values.frequency.sum(),
        )
        rows = per.to_pyarrow().to_pylist()
    finally:
        con.disconnect()
    found = {r["rfm_cn"]: r for r in rows}
    out: list[dict[str, Any]] = []
    for name in RFM_CN:
        row = found.get(name) or {}
        revenue = int(row.get("revenue_fen") or 0)
        orders = int(row.get("orders") or 0)
        out.append(
            {
                "rfm_cn": name,
                "customers": int(row.get("customers") or 0),
                "revenue_fen": revenue,
                "orders": orders,
                "aov_fen": revenue // orders if orders else None,
            }
        )
    return out


_ERASED_TABLES = ("customer_tag_values", "customer_tags", "tag_snapshots", "manual_tags")


def erase_customer(cur: duckdb.DuckDBPyConnection, customer_ids: list[str]) -> dict[str, int]:
    """Delete these customers' tag values, current tags, snapshots and manual tags (an
    erasure, inside the caller's warehouse transaction ``cur``); returns rows removed per
    table."""
    return delete_customers(cur, _ERASED_TABLES, customer_ids)
