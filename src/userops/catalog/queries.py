"""The catalogue as Ibis expressions: what other domains compose (they never name the tables).

- :func:`products` — one row per SKU (``warehouse.tables.TABLES["products"]``).
- :func:`categories` — the category tree, one row per node (path, parent, name, name_en, depth,
  products in it or below).
- :func:`in_category` — the products in a node or below it (segment rules today, coupon scopes
  and points-mall items later).
- :func:`event_sku` — the SKU an event is about: ``properties.sku``, else ``properties.product_id``
  (Segment's e-commerce spec), so events link to products the same way order items do.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from userops.catalog import paths


def products(con: ibis.BaseBackend) -> ir.Table:
    return con.table("products")


def categories(con: ibis.BaseBackend) -> ir.Table:
    return con.table("product_categories")


def within(column: ir.StringValue, node: str) -> ir.BooleanValue:
    """``column`` (a category path) is ``node`` or below it — at a level boundary, so
    ``美妆 › 面膜`` holds ``美妆 › 面膜 › 睡眠面膜`` but not ``美妆 › 面膜霜``. ``node`` is
    normalised first (``美妆>面膜`` works); raises :class:`paths.BadPath`."""
    node = paths.normalize(node)
    return (column == node) | column.startswith(node + paths.SEPARATOR)


def in_category(con: ibis.BaseBackend, node: str) -> ir.Table:
    """The products (all columns) whose category is ``node`` or below it."""
    p = products(con)
    return p.filter(within(p.category, node))


def event_sku(properties: ir.Value) -> ir.StringValue:
    """The SKU of an event's ``properties`` (JSON): ``sku``, else ``product_id``."""
    props = properties.cast("json")
    return ibis.coalesce(props["sku"].str, props["product_id"].str)
