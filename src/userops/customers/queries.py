"""Ibis expressions over the warehouse for one customer (built here, run by the service)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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


def people(con: ibis.BaseBackend) -> ir.Table:
    """Customers that are people of their own (not merged into another)."""
    customers = con.table("customers")
    return customers.filter(customers.merged_into.isnull())


def _survivor(con: ibis.BaseBackend, table: ir.Table, column: str) -> ir.Table:
    """Replace ``column`` (a customer id) by the customer it was merged into, if any."""
    merged = con.table("customers").select(_mid=ibis._.customer_id, _into=ibis._.merged_into)
    joined = table.left_join(merged, table[column] == merged._mid)
    return joined.mutate(**{column: ibis.coalesce(joined._into, joined[column])}).drop(
        "_mid", "_into"
    )


def resolved_events(con: ibis.BaseBackend, until: datetime) -> ir.Table:
    """Events before ``until`` with ``customer_id``: user ids and anonymous ids resolved through
    identities (aliases, identify links) and merges. Anonymous events never linked drop out."""
    events = con.table("events")
    events = events.filter(events.timestamp < until)
    ids = con.table("identities")
    by_user = ids.filter(ids.kind == "user_id").select(_uv=ids.value, _uc=ids.customer_id)
    by_anon = ids.filter(ids.kind == "anonymous_id").select(_av=ids.value, _ac=ids.customer_id)
    joined = events.left_join(by_user, events.user_id == by_user._uv).left_join(
        by_anon, events.anonymous_id == by_anon._av
    )
    resolved = joined.mutate(customer_id=ibis.coalesce(joined._uc, joined.user_id, joined._ac))
    resolved = resolved.drop("_uv", "_uc", "_av", "_ac").filter(ibis._.customer_id.notnull())
    return _survivor(con, resolved, "customer_id")


def paid_orders(con: ibis.BaseBackend, until: datetime) -> ir.Table:
    orders = con.table("orders")
    paid = orders.filter(orders.status == "paid", orders.paid_at.notnull(), orders.paid_at < until)
    return _survivor(con, paid, "customer_id")
