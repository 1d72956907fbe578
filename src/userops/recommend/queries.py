"""Ibis expressions over the warehouse for recommendations (built here, run by the service)."""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis import _

from userops.catalog import queries as catalog
from userops.customers import queries as customers
from userops.ingest import queries as facts

BEHAVIOUR_EVENTS = ("product_view", "add_to_cart", "favorite")


def _behaviour(con: ibis.BaseBackend) -> ir.Table:
    """Track events that show interest in a product."""
    ev = facts.events(con)
    return ev.filter(ev.type == "track", ev.event.isin(BEHAVIOUR_EVENTS))


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
    ``reference``; events and orders count for the person they belong to after identity links
    and merges (``customers.queries``)."""
    ev = customers.person_of_event(con, _behaviour(con))
    ev = ev.select(
        customer=ev.person, sku=catalog.event_sku(ev.properties), kind=ev.event, ts=ev.timestamp
    )
    orders = customers.owned(con, facts.paid_orders(con))
    items = facts.order_items(con)
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
    weighted = rows.mutate(w=kind_weight * decay)
    return (
        weighted.group_by(customer_id=weighted.customer, sku=weighted.sku)
        .aggregate(weight=_.w.sum())
        .filter(_.weight > 0)
    )


def purchases(
    con: ibis.BaseBackend, *, since: datetime | None = None, until: datetime | None = None
) -> ir.Table:
    """(customer_id, sku) bought in paid orders in [since, until)."""
    orders = facts.paid_orders(con)
    if since is not None:
        orders = orders.filter(orders.paid_at >= since)
    if until is not None:
        orders = orders.filter(orders.paid_at < until)
    orders = customers.owned(con, orders)
    items = facts.order_items(con)
    bought = items.join(orders, items.order_id == orders.order_id)
    return bought.select(customer_id=orders.customer_id, sku=items.sku).distinct()


def catalogue(con: ibis.BaseBackend) -> ir.Table:
    """(sku, category): every product seen in an order item or a behaviour event."""
    items = facts.order_items(con).select(
        sku=_.sku.cast("string"), category=_.category.cast("string")
    )
    behaviour = _behaviour(con)
    seen = behaviour.select(
        sku=catalog.event_sku(behaviour.properties), category=behaviour.properties["category"].str
    )
    both = items.union(seen).filter(_.sku.notnull())
    return both.group_by("sku").aggregate(category=_.category.max())


def live_customers(con: ibis.BaseBackend) -> ir.Table:
    """(customer_id, province, interests) of customers that were not merged away."""
    return customers.people(con).select("customer_id", "province", "interests")


def latest_behaviour(con: ibis.BaseBackend) -> ir.Table:
    events = _behaviour(con)
    orders = facts.paid_orders(con)
    return events.aggregate(last=_.timestamp.max()).cross_join(
        orders.aggregate(last_paid=_.paid_at.max())
    )


def customer_exists(con: ibis.BaseBackend, customer_id: str) -> ir.Table:
    known = customers.customer_profiles(con)
    return known.filter(known.customer_id == customer_id).select("customer_id").limit(1)


def stored(con: ibis.BaseBackend) -> ir.Table:
    """Every stored recommendation, ordered for the in-memory index."""
    recs = con.table("recommendations")
    return recs.order_by(["customer_id", "rank"])


def recommended_categories(con: ibis.BaseBackend) -> ir.Table:
    """(customer_id, category, …): each customer's top "guess you like" category, as of the last
    ``userops recommend train`` (segments test it as ``score.recommended_category``)."""
    return con.table("customer_recommended_category")
