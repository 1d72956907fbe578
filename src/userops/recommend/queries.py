"""Ibis expressions over the warehouse for recommendations (built here, run by the service)."""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis import _

BEHAVIOUR_EVENTS = ("product_view", "add_to_cart", "favorite")


def _owner_map(con: ibis.BaseBackend) -> ir.Table:
    return con.table("customers").select(merged_id=_.customer_id, merged_into=_.merged_into)


def _owned(table: ir.Table, column: str, con: ibis.BaseBackend) -> ir.Table:
    merged = _owner_map(con)
    return table.left_join(merged, table[column] == merged.merged_id).mutate(
        owner=ibis.coalesce(_.merged_into, _[column])
    )


def interactions(
    con: ibis.BaseBackend,
    *,
    weights: dict[str, float],
    half_life_days: float,
    reference: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ir.Table:
    """(customer_id, sku, weight): behaviour weighted by kind and decayed by age at
    ``reference``; events of anonymous ids count for the customer the id was linked to."""
    events = con.table("events")
    ids = con.table("identities").filter(_.kind == "anonymous_id")
    ids = ids.select(anon=_.value, linked=_.customer_id)
    ev = events.filter(events.type == "track", events.event.isin(BEHAVIOUR_EVENTS))
    ev = ev.left_join(ids, ev.anonymous_id == ids.anon)
    ev = ev.select(
        customer=ibis.coalesce(_.user_id, _.linked),
        sku=_.properties["sku"].str,
        kind=_.event,
        ts=_.timestamp,
    )
    orders = con.table("orders").filter(_.status == "paid", _.paid_at.notnull())
    items = con.table("order_items")
    bought = items.join(orders, items.order_id == orders.order_id).select(
        customer=orders.customer_id,
        sku=items.sku,
        kind=ibis.literal("purchase"),
        ts=orders.paid_at,
    )
    rows = ev.union(bought)
    if since is not None:
        rows = rows.filter(rows.ts >= since)
    if until is not None:
        rows = rows.filter(rows.ts < until)
    rows = rows.filter(rows.customer.notnull(), rows.sku.notnull())
    kind_weight = ibis.cases(
        *((rows.kind == kind, weight) for kind, weight in weights.items()), else_=0.0
    )
    age_days = (ibis.literal(reference).epoch_seconds() - rows.ts.epoch_seconds()) / 86400.0
    decay = (age_days.clip(lower=0.0) * (-0.6931471805599453 / half_life_days)).exp()
    owned = _owned(rows.mutate(w=kind_weight * decay), "customer", con)
    return (
        owned.group_by(customer_id=owned.owner, sku=owned.sku)
        .aggregate(weight=_.w.sum())
        .filter(_.weight > 0)
    )


def purchases(
    con: ibis.BaseBackend, *, since: datetime | None = None, until: datetime | None = None
) -> ir.Table:
    """(customer_id, sku) bought in paid orders in [since, until)."""
    orders = con.table("orders").filter(_.status == "paid", _.paid_at.notnull())
    if since is not None:
        orders = orders.filter(orders.paid_at >= since)
    if until is not None:
        orders = orders.filter(orders.paid_at < until)
    items = con.table("order_items")
    bought = items.join(orders, items.order_id == orders.order_id).select(
        customer=orders.customer_id, sku=items.sku
    )
    owned = _owned(bought, "customer", con)
    return owned.select(customer_id=owned.owner, sku=owned.sku).distinct()


def catalogue(con: ibis.BaseBackend) -> ir.Table:
    """(sku, category): every product seen in an order item or a behaviour event."""
    items = con.table("order_items").select(
        sku=_.sku.cast("string"), category=_.category.cast("string")
    )
    events = con.table("events").filter(_.type == "track", _.event.isin(BEHAVIOUR_EVENTS))
    seen = events.select(sku=_.properties["sku"].str, category=_.properties["category"].str)
    both = items.union(seen).filter(_.sku.notnull())
    return both.group_by("sku").aggregate(category=_.category.max())


def live_customers(con: ibis.BaseBackend) -> ir.Table:
    """(customer_id, province, interests) of customers that were not merged away."""
    customers = con.table("customers")
    return customers.filter(customers.merged_into.isnull()).select(
        "customer_id", "province", "interests"
    )


def latest_behaviour(con: ibis.BaseBackend) -> ir.Table:
    events = con.table("events").filter(_.type == "track", _.event.isin(BEHAVIOUR_EVENTS))
    orders = con.table("orders").filter(_.status == "paid")
    return events.aggregate(last=_.timestamp.max()).cross_join(
        orders.aggregate(last_paid=_.paid_at.max())
    )


def customer_exists(con: ibis.BaseBackend, customer_id: str) -> ir.Table:
    customers = con.table("customers")
    return customers.filter(customers.customer_id == customer_id).select("customer_id").limit(1)


def stored(con: ibis.BaseBackend) -> ir.Table:
    """Every stored recommendation, ordered for the in-memory index."""
    recs = con.table("recommendations")
    return recs.order_by(["customer_id", "rank"])


def recommended_categories(con: ibis.BaseBackend) -> ir.Table:
    return con.table("customer_recommended_category")
