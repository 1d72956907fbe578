"""Ibis expressions over the warehouse for predict (built here, run by the service)."""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis import _

_UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")
_WALL_CLOCK = dt.Timestamp(scale=6)


@ibis.udf.scalar.builtin(name="timezone", signature=((dt.string, _UTC_TIMESTAMP), _WALL_CLOCK))
def _wall_clock(zone: str, ts: datetime) -> datetime:  # type: ignore[empty-body]
    """DuckDB's ``timezone(zone, timestamptz)``: the wall-clock time in ``zone``."""


def _owned_paid_orders(con: ibis.BaseBackend) -> ir.Table:
    """Paid orders, each under the customer it belongs to after merges."""
    orders = con.table("orders")
    paid = orders.filter(orders.status == "paid", orders.paid_at.notnull())
    merged = con.table("customers").select(merged_id=_.customer_id, merged_into=_.merged_into)
    return paid.left_join(merged, paid.customer_id == merged.merged_id).mutate(
        owner=ibis.coalesce(_.merged_into, _.customer_id)
    )


def daily_transactions(con: ibis.BaseBackend, timezone: str, until: date | None) -> ir.Table:
    """(customer_id, day, amount_fen): paid orders per customer and shop-local day."""
    owned = _owned_paid_orders(con)
    daily = owned.mutate(day=_wall_clock(timezone, owned.paid_at).date())
    if until is not None:
        daily = daily.filter(daily.day <= until)
    return daily.group_by(customer_id=daily.owner, day=daily.day).aggregate(
        amount_fen=_.amount_fen.sum()
    )


def last_paid_day(con: ibis.BaseBackend, timezone: str) -> ir.Scalar:
    owned = _owned_paid_orders(con)
    return _wall_clock(timezone, owned.paid_at.max()).date()


def scores(con: ibis.BaseBackend) -> ir.Table:
    return con.table("customer_scores")


def risk_by_stage(con: ibis.BaseBackend) -> ir.Table:
    """(lifecycle, churn_risk, customers); lifecycle from the customer system's tag values
    ("unknown" before the first tag refresh)."""
    s = con.table("customer_scores")
    tags = con.table("customer_tag_values").select("customer_id", "lifecycle")
    joined = s.left_join(tags, s.customer_id == tags.customer_id)
    return (
        joined.mutate(stage=joined.lifecycle.fill_null("unknown"))
        .group_by(["stage", "churn_risk"])
        .aggregate(customers=_.count())
    )


def clv_histogram(con: ibis.BaseBackend, edges_fen: list[int]) -> ir.Table:
    """(bucket, customers) with bucket i = edges[i] <= clv < edges[i+1] (last is open)."""
    s = con.table("customer_scores")
    bucket = ibis.literal(0)
    for i, edge in enumerate(edges_fen[1:], start=1):
        bucket = ibis.ifelse(s.clv_fen >= edge, i, bucket)
    return s.mutate(bucket=bucket).group_by("bucket").aggregate(customers=_.count())


def clv_totals(con: ibis.BaseBackend) -> ir.Table:
    s = con.table("customer_scores")
    return s.aggregate(customers=_.count(), total_clv_fen=_.clv_fen.sum().fill_null(0))
