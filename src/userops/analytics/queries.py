"""Ibis expressions over the warehouse for the overview (built here, run by ``overview``).

Shop-local calendar days come from :func:`local_day`, which converts explicitly instead of
relying on the connection's TimeZone setting (Ibis sets its DuckDB connections to UTC).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis import _

_UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")
_WALL_CLOCK = dt.Timestamp(scale=6)


@ibis.udf.scalar.builtin(name="timezone", signature=((dt.string, _UTC_TIMESTAMP), _WALL_CLOCK))
def _wall_clock(zone: str, ts: datetime) -> datetime:  # type: ignore[empty-body]
    """DuckDB's ``timezone(zone, timestamptz)``: the wall-clock time in ``zone`` (no offset).
    On Spark the same builtin is ``from_utc_timestamp(ts, zone)``."""


def local_day(ts: ir.TimestampValue, timezone: str) -> ir.DateValue:
    """The calendar day of an instant in ``timezone`` (an IANA name)."""
    return _wall_clock(timezone, ts).date()


def live_customers(con: ibis.BaseBackend) -> ir.Table:
    """Customers that were not merged into another one."""
    customers = con.table("customers")
    return customers.filter(customers.merged_into.isnull())


def paid_orders(con: ibis.BaseBackend) -> ir.Table:
    """Orders that count as GMV: paid, not refunded or cancelled."""
    orders = con.table("orders")
    return orders.filter(orders.status == "paid")


def totals(con: ibis.BaseBackend) -> ir.Table:
    """One row: customers, paying_customers, paid_orders, gmv_fen."""
    customers = live_customers(con).aggregate(customers=_.count())
    merged = con.table("customers").select(merged_id=_.customer_id, merged_into=_.merged_into)
    paid = paid_orders(con)
    # An order under a merged id belongs to the customer it was merged into.
    owned = paid.left_join(merged, paid.customer_id == merged.merged_id).mutate(
        owner=ibis.coalesce(_.merged_into, _.customer_id)
    )
    sales = owned.aggregate(
        paying_customers=_.owner.nunique(),
        paid_orders=_.count(),
        gmv_fen=_.amount_fen.sum().fill_null(0),
    )
    return customers.cross_join(sales)


def latest_days(con: ibis.BaseBackend, timezone: str) -> ir.Table:
    """One row: the shop-local day of the latest paid order and of the latest signup."""
    paid = paid_orders(con)
    signups = live_customers(con)
    last_paid = paid.aggregate(last_paid_day=local_day(paid.paid_at.max(), timezone))
    last_signup = signups.aggregate(last_signup_day=local_day(signups.signup_at.max(), timezone))
    return last_paid.cross_join(last_signup)


def new_customers_by_day(
    con: ibis.BaseBackend, timezone: str, since: datetime, until: datetime
) -> ir.Table:
    """(day, new_customers) for signups in [since, until), by shop-local signup day."""
    customers = live_customers(con)
    window = customers.filter(customers.signup_at >= since, customers.signup_at < until)
    return (
        window.mutate(day=local_day(window.signup_at, timezone))
        .group_by("day")
        .aggregate(new_customers=_.count())
    )


def sales_by_day(
    con: ibis.BaseBackend, timezone: str, since: datetime, until: datetime
) -> ir.Table:
    """(day, paid_orders, gmv_fen) for orders paid in [since, until), by shop-local paid day."""
    paid = paid_orders(con)
    window = paid.filter(paid.paid_at >= since, paid.paid_at < until)
    return (
        window.mutate(day=local_day(window.paid_at, timezone))
        .group_by("day")
        .aggregate(paid_orders=_.count(), gmv_fen=_.amount_fen.sum())
    )
