"""Reading the catalogue for display: product cards by SKU, the category tree, order lines.

Every screen that would show a SKU code asks :func:`cards` for the SKUs it shows and renders the
name, image and price when the SKU is in the catalogue, the code when it is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from userops.catalog import queries
from userops.catalog.paths import SEPARATOR, ancestors
from userops.ingest import queries as facts
from userops.warehouse import Warehouse

MAX_LOOKUP = 1000
"""SKUs looked up in one call (a page shows far fewer)."""


class ProductCard(BaseModel):
    sku: str
    name: str
    category: str | None = None
    category_en: str | None = None
    brand: str | None = None
    price_fen: int
    list_price_fen: int | None = None
    image_url: str | None = None
    stock: int | None = None
    status: str | None = None


class CategoryNode(BaseModel):
    path: str
    parent: str | None
    name: str
    name_en: str | None
    depth: int
    products: int


class OrderLine(BaseModel):
    order_id: str
    sku: str
    quantity: int
    price_fen: int
    product_name: str | None = None
    """The name the order item carried (the catalogue's name is in ``product``)."""
    product: ProductCard | None = None


def _rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def cards(warehouse: Warehouse, skus: Iterable[str]) -> dict[str, ProductCard]:
    """The catalogue's products among ``skus`` (unknown SKUs are simply absent)."""
    wanted = sorted({s for s in skus if s})[:MAX_LOOKUP]
    if not wanted:
        return {}
    con = warehouse.ibis()
    try:
        p = queries.products(con)
        rows = _rows(p.filter(p.sku.isin(wanted)).drop("tags"))
    finally:
        con.disconnect()
    return {r["sku"]: ProductCard.model_validate(r) for r in rows}


def tree(warehouse: Warehouse) -> list[CategoryNode]:
    """Every node of the category tree, parents before children (ordered by path)."""
    con = warehouse.ibis()
    try:
        c = queries.categories(con)
        rows = _rows(c.order_by(c.path))
    finally:
        con.disconnect()
    return [CategoryNode.model_validate(r) for r in rows]


def order_lines(warehouse: Warehouse, order_ids: Iterable[str]) -> dict[str, list[OrderLine]]:
    """The items of ``order_ids`` with their products: order id → lines (by SKU)."""
    wanted = sorted(set(order_ids))[:MAX_LOOKUP]
    if not wanted:
        return {}
    con = warehouse.ibis()
    try:
        items = facts.order_items(con)
        items = items.filter(items.order_id.isin(wanted)).select(
            "order_id", "sku", "quantity", "price_fen", "product_name"
        )
        rows = _rows(items.order_by(["order_id", "sku"]))
    finally:
        con.disconnect()
    known = cards(warehouse, (r["sku"] for r in rows))
    out: dict[str, list[OrderLine]] = {}
    for r in rows:
        out.setdefault(r["order_id"], []).append(OrderLine(**r, product=known.get(r["sku"])))
    return out


def display_names(nodes: Iterable[CategoryNode], lang: str) -> dict[str, str]:
    """Category path → how it reads in ``lang``: in English each level's ``name_en`` where the
    catalogue has one (else the level as stored); in Chinese the path itself."""
    nodes = list(nodes)
    if not lang.startswith("en"):
        return {n.path: n.path for n in nodes}
    english = {n.path: n.name_en for n in nodes}
    return {
        n.path: SEPARATOR.join(english.get(a) or a.split(SEPARATOR)[-1] for a in ancestors(n.path))
        for n in nodes
    }


def display_name(nodes: Iterable[CategoryNode], path: str | None, lang: str) -> str | None:
    """One category path in ``lang`` (see :func:`display_names`); unknown paths stay as typed."""
    if path is None:
        return None
    return display_names(nodes, lang).get(path, path)
