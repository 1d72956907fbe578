"""Ibis expressions over the warehouse for one customer (built here, run by the service)."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir


def recent_orders(con: ibis.BaseBackend, customer_ids: Sequence[str], limit: int) -> ir.Table:
    orders = con.table("orders")
    return (
        orders.filter(orders.customer_id.isin(list(customer_ids)))
        .order_by(ibis.desc(orders.created_at))
        .limit(limit)
    )


def recent_events(
    con: ibis.BaseBackend, user_ids: Sequence[str], anonymous_ids: Sequence[str], limit: int
) -> ir.Table:
    events = con.table("events")
    who = events.user_id.isin(list(user_ids))
    if anonymous_ids:
        who = who | events.anonymous_id.isin(list(anonymous_ids))
    return (
        events.filter(who)
        .select("timestamp", "type", "event", "user_id", "anonymous_id", "properties", "message_id")
        .order_by(ibis.desc(events.timestamp))
        .limit(limit)
    )


def order_totals(con: ibis.BaseBackend, customer_ids: Sequence[str]) -> ir.Table:
    orders = con.table("orders")
    paid = orders.filter(orders.customer_id.isin(list(customer_ids)), orders.status == "paid")
    return paid.aggregate(
        orders=paid.count(),
        paid_fen=paid.amount_fen.sum(),
        first_paid_at=paid.paid_at.min(),
        last_paid_at=paid.paid_at.max(),
    )
