"""The facts ingest owns — events, orders, order items, channel spend — as Ibis expressions.

``userops.ingest`` is the only package that names these warehouse tables
(``warehouse.tables.OWNERS``); every other domain starts from these functions and composes them
(with ``customers.queries`` for "whose is it after identity links and merges").
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

BEHAVIOUR_TYPES = ("track", "page", "screen")
"""Message types that are behaviour; identify / alias / group messages are not events here."""


def events(con: ibis.BaseBackend) -> ir.Table:
    """Every stored message (track, page, screen, identify, alias, group)."""
    return con.table("events")


def behaviour(con: ibis.BaseBackend, names: Sequence[str] | None = None) -> ir.Table:
    """Behaviour messages with ``name``: the track event's name, or ``$page``/``$screen``.
    ``names`` keeps only those (filtered before anything is joined)."""
    ev = events(con)
    ev = ev.filter(ev.type.isin(BEHAVIOUR_TYPES)).mutate(
        name=ibis.coalesce(ev.event, "$" + ev.type)
    )
    if names is not None:
        ev = ev.filter(ev.name.isin(list(names)))
    return ev


def orders(con: ibis.BaseBackend) -> ir.Table:
    return con.table("orders")


def paid_orders(con: ibis.BaseBackend) -> ir.Table:
    """Orders that count as sales (GMV): paid, with a payment time, not refunded or cancelled."""
    o = orders(con)
    return o.filter(o.status == "paid", o.paid_at.notnull())


def order_items(con: ibis.BaseBackend) -> ir.Table:
    return con.table("order_items")


def channel_spend(con: ibis.BaseBackend) -> ir.Table:
    return con.table("channel_spend")
