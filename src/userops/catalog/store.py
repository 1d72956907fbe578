"""Writing the catalogue: the checked rows of a products file, and the category tree from them.

``userops.ingest`` stages and types the file (``ingest.specs`` ``products``, the same machinery
as every other file: row-level rejects, the last row of a SKU wins); it calls :func:`check` on
its ``_typed`` table for the rules that need several columns, then :func:`load` with the good
rows in ``_good``. The products are upserted and ``product_categories`` rebuilt in one DuckDB
transaction, so a failed import leaves the previous catalogue whole.
"""

from __future__ import annotations

import duckdb

from userops.catalog.paths import SEPARATOR
from userops.core.sql import ident, literal
from userops.ingest.schemas import ImportSummary
from userops.warehouse.tables import TABLES

_SEP = literal(SEPARATOR)

_RULES = (
    # (condition over the typed row, reason); the first that holds is the row's reason.
    (
        "price_fen IS NULL AND price IS NULL",
        "price_fen: required (price_fen in fen, or price in yuan)",
    ),
    (
        "price_fen IS NOT NULL AND price IS NOT NULL AND price_fen <> price",
        "price: the yuan amount and price_fen disagree",
    ),
    (
        "list_price_fen IS NOT NULL AND list_price IS NOT NULL AND list_price_fen <> list_price",
        "list_price: the yuan amount and list_price_fen disagree",
    ),
    (
        "category_en IS NOT NULL AND category IS NULL",
        "category_en: given without category",
    ),
    (
        f"category_en IS NOT NULL AND len(string_split(category_en, {_SEP})) <> "
        f"len(string_split(category, {_SEP}))",
        "category_en: needs as many levels as category (one English name per level)",
    ),
)


def check(cur: duckdb.DuckDBPyConnection) -> None:
    """Refuse, in the importer's ``_typed``, the rows that break a rule over several columns."""
    reason = "CASE " + " ".join(f"WHEN {c} THEN {literal(r)}" for c, r in _RULES) + " END"
    cur.execute(f"UPDATE _typed SET _reason = {reason} WHERE _reason IS NULL")


def _columns() -> list[str]:
    return list(TABLES["products"])


def load(cur: duckdb.DuckDBPyConnection, summary: ImportSummary) -> None:
    """Upsert ``_good`` into ``products`` (``updated`` counts rows whose stored values changed)
    and rebuild ``product_categories``, in one transaction."""
    columns = _columns()
    cols = ", ".join(ident(c) for c in columns)
    projected = {
        "price_fen": "coalesce(price_fen, price)",
        "list_price_fen": "coalesce(list_price_fen, list_price)",
    }
    select = ", ".join(f"{projected.get(c, ident(c))} AS {ident(c)}" for c in columns)
    differs = " OR ".join(
        f"t.{ident(c)}::VARCHAR IS DISTINCT FROM g.{ident(c)}::VARCHAR"
        for c in columns
        if c != "sku"
    )
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _rows AS SELECT {select} FROM _good")
    cur.execute("BEGIN TRANSACTION")
    try:
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _changed AS SELECT g.* FROM _rows g JOIN products t "
            f"ON t.sku = g.sku WHERE {differs}"
        )
        summary.updated = _one(cur, "SELECT count(*) FROM _changed")
        if summary.updated:
            cur.execute(
                "DELETE FROM products t WHERE EXISTS (SELECT 1 FROM _changed g WHERE g.sku = t.sku)"
            )
            cur.execute(f"INSERT INTO products ({cols}) SELECT {cols} FROM _changed")
        summary.imported = _one(
            cur,
            f"INSERT INTO products ({cols}) SELECT {cols} FROM _rows g "
            "WHERE NOT EXISTS (SELECT 1 FROM products t WHERE t.sku = g.sku)",
        )
        rebuild_categories(cur)
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.execute("DROP TABLE IF EXISTS _changed")
        cur.execute("DROP TABLE IF EXISTS _rows")


def rebuild_categories(cur: duckdb.DuckDBPyConnection) -> None:
    """``product_categories`` from the stored products: every node on every product's path,
    its parent, its English name (from the aligned level of ``category_en``), and how many
    products are in it or below it."""
    cur.execute("DELETE FROM product_categories")
    cur.execute(
        "INSERT INTO product_categories (path, parent, name, name_en, depth, products) "
        "SELECT path, any_value(parent), any_value(name), max(name_en), any_value(depth), "
        "count(*) FROM (SELECT array_to_string(lv[1:i], " + _SEP + ") AS path, "
        "CASE WHEN i > 1 THEN array_to_string(lv[1:i - 1], " + _SEP + ") END AS parent, "
        "lv[i] AS name, lv_en[i] AS name_en, i AS depth FROM (SELECT lv, lv_en, "
        "unnest(generate_series(1, len(lv))) AS i FROM (SELECT string_split(category, "
        + _SEP
        + ") AS lv, string_split(category_en, "
        + _SEP
        + ") AS lv_en FROM products WHERE category IS NOT NULL))) GROUP BY path"
    )


def _one(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = cur.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0
