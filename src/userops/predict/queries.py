"""Ibis expressions over the warehouse for predict (built here, run by the service).

``userops.predict`` owns ``customer_scores``; other domains read it through :func:`scores`.
Orders and who they belong to come from their owners (``ingest.queries``,
``customers.queries``), lifecycle stages from the customer system (``tags.queries``).
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis import _

from userops.customers import queries as customers
from userops.ingest import queries as facts
from userops.tags import queries as tags

_UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")
_WALL_CLOCK = dt.Timestamp(scale=6)


@ibis.udf.scalar.builtin(name="timezone", signature=((dt.string, _UTC_TIMESTAMP), _WALL_CLOCK))
def _wall_clock(zone: str, ts: datetime) -> datetime:  # type: ignore[empty-body]
    """DuckDB's ``timezone(zone, timestamptz)``: the wall-clock time in ``zone``."""


def _owned_paid_orders(con: ibis.BaseBackend) -> ir.Table:
    """Paid orders, each under the customer it belongs to after merges."""
    return customers.owned(con, facts.paid_orders(con))


def daily_transactions(con: ibis.BaseBackend, timezone: str, until: date | None) -> ir.Table:
    """(customer_id, day, amount_fen): paid orders per customer and shop-local day."""
    owned = _owned_paid_orders(con)
    daily = owned.mutate(day=_wall_clock(timezone, owned.paid_at).date())
    if until is not None:
        daily = daily.filter(daily.day <= until)
    return daily.group_by(customer_id=daily.customer_id, day=daily.day).aggregate(
        amount_fen=_.amount_fen.sum()
    )


def last_paid_day(con: ibis.BaseBackend, timezone: str) -> ir.Scalar:
    owned = _owned_paid_orders(con)
    return _wall_clock(timezone, owned.paid_at.max()).date()


def scores(con: ibis.BaseBackend) -> ir.Table:
    """One row per scored customer: expected orders, ``p_alive``, ``clv_fen``, ``churn_risk``…
    as of the last ``userops predict fit``."""
    return con.table("customer_scores")


def risk_by_stage(con: ibis.BaseBackend) -> ir.Table:
    """(lifecycle, churn_risk, customers); lifecycle from the customer system's tag values
    ("unknown" before the first tag refresh)."""
    s = scores(con)
    stages = tags.current_values(con).select("customer_id", "lifecycle")
    joined = s.left_join(stages, s.customer_id == stages.customer_id)
    return (
        joined.mutate(stage=joined.lifecycle.fill_null("unknown"))
        .group_by(["stage", "churn_risk"])
        .aggregate(customers=_.count())
    )


def clv_histogram(con: ibis.BaseBackend, edges_fen: list[int]) -> ir.Table:
    """(bucket, customers) with bucket i = edges[i] <= clv < edges[i+1] (last is open)."""
    s = scores(con)
    bucket = ibis.literal(0)
    for i, edge in enumerate(edges_fen[1:], start=1):
        bucket = ibis.ifelse(s.clv_fen >= edge, i, bucket)
    return s.mutate(bucket=bucket).group_by("bucket").aggregate(customers=_.count())


def clv_totals(con: ibis.BaseBackend) -> ir.Table:
    s = scores(con)
    return s.aggregate(customers=_.count(), total_clv_fen=_.clv_fen.sum().fill_null(0))
