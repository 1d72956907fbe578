"""Who is who in the warehouse: the customers mirror and identities, as Ibis expressions.

``userops.customers`` owns the ``customers``, ``identities`` and ``customer_reach`` warehouse
tables; other domains ask here who a customer id, an event or an order belongs to
(:func:`people`, :func:`owned`, :func:`person_of_event`), who can be reached
(:func:`reachable`) and which ids are customers at all (:func:`known_ids`) instead of naming
those tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from userops.ingest import queries as facts


def recent_orders(con: ibis.BaseBackend, customer_ids: Sequence[str], limit: int) -> ir.Table:
    orders = facts.orders(con)
    return (
        orders.filter(orders.customer_id.isin(list(customer_ids)))
        .order_by(ibis.desc(orders.created_at))
        .limit(limit)
    )


def recent_events(
    con: ibis.BaseBackend, user_ids: Sequence[str], anonymous_ids: Sequence[str], limit: int
) -> ir.Table:
    events = facts.events(con)
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
    orders = facts.orders(con)
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


def customer_profiles(con: ibis.BaseBackend) -> ir.Table:
    """Every mirrored customer row, merged ones included (their ``merged_into`` says where to)."""
    return con.table("customers")


def survivors(con: ibis.BaseBackend) -> ir.Table:
    """(sid, survivor): every customer id and the customer it was merged into (or itself).
    Merges are flattened when they are recorded, so one step is enough."""
    c = con.table("customers")
    return c.select(sid=c.customer_id, survivor=ibis.coalesce(c.merged_into, c.customer_id))


def owned(con: ibis.BaseBackend, table: ir.Table, column: str = "customer_id") -> ir.Table:
    """``table`` with ``column`` (a customer id) replaced by the customer it belongs to after
    merges. Ids the customer system does not know stay as they are."""
    surv = survivors(con)
    joined = table.left_join(surv, table[column] == surv.sid)
    return joined.mutate(**{column: ibis.coalesce(joined.survivor, joined[column])}).drop(
        "sid", "survivor"
    )


def person_of_event(
    con: ibis.BaseBackend, events: ir.Table, *, keep_anonymous: bool = False
) -> ir.Table:
    """``events`` (any expression with ``user_id`` and ``anonymous_id``) with ``person``: the
    customer each event belongs to. A ``user_id`` goes through the alias map (identities
    kind=user_id) or is itself; without one, the ``anonymous_id`` goes through identities
    kind=anonymous_id; then merges are followed. An anonymous id linked to nobody is dropped, or
    with ``keep_anonymous`` becomes its own person ``anon:<id>`` (a visitor who never identified).
    This is the one definition of "whose event is it"; every domain composes it."""
    ids = con.table("identities")
    alias = ids.filter(ids.kind == "user_id").select(_u_val=ids.value, _u_cust=ids.customer_id)
    anon = ids.filter(ids.kind == "anonymous_id").select(_a_val=ids.value, _a_cust=ids.customer_id)
    j = events.left_join(alias, events.user_id == alias._u_val).left_join(
        anon, events.anonymous_id == anon._a_val
    )
    j = j.mutate(_raw=ibis.coalesce(j._u_cust, j.user_id, j._a_cust))
    surv = survivors(con)
    j = j.left_join(surv, j._raw == surv.sid)
    person = ibis.coalesce(j.survivor, j._raw)
    if keep_anonymous:
        person = ibis.coalesce(person, "anon:" + j.anonymous_id)
    j = j.mutate(person=person).drop(
        "_u_val", "_u_cust", "_a_val", "_a_cust", "_raw", "sid", "survivor"
    )
    return j.filter(j.person.notnull())


def resolved_events(con: ibis.BaseBackend, until: datetime) -> ir.Table:
    """Events before ``until`` with ``customer_id``: the person of each (see
    :func:`person_of_event`); anonymous events never linked drop out."""
    ev = facts.events(con)
    ev = person_of_event(con, ev.filter(ev.timestamp < until))
    return ev.rename(customer_id="person")


def paid_orders(con: ibis.BaseBackend, until: datetime) -> ir.Table:
    """Paid orders before ``until``, each under the customer it belongs to after merges."""
    paid = facts.paid_orders(con)
    return owned(con, paid.filter(paid.paid_at < until))


def reachable(con: ibis.BaseBackend, channel: str) -> ir.Table:
    """(customer_id, …) of the customers reachable on ``channel``: a contact point for it and a
    granted consent (the ``customer_reach`` mirror, refreshed as soon as either changes)."""
    reach = con.table("customer_reach")
    return reach.filter(reach.channel == channel, reach.has_contact, reach.consent == "granted")


def known_ids(cur: Any, customer_ids: Sequence[str]) -> set[str]:
    """Which of ``customer_ids`` are customers of the warehouse mirror (merged-away ids
    included), on a DuckDB connection or cursor ``cur`` — also one inside the caller's write
    transaction. The ids travel as a registered Arrow table, never spliced into the text."""
    import pyarrow as pa

    ids = pa.table({"customer_id": pa.array(list(dict.fromkeys(customer_ids)), pa.string())})
    cur.register("_known_ids_given", ids)
    try:
        rows = cur.execute(
            "SELECT customer_id FROM customers WHERE customer_id IN "
            "(SELECT customer_id FROM _known_ids_given)"
        ).fetchall()
    finally:
        cur.unregister("_known_ids_given")
    return {r[0] for r in rows}
