"""The overview (概览): headline totals and daily new customers and GMV, in shop-local days.

>>> from userops.analytics.overview import overview
>>> ov = overview(hub.warehouse, timezone=hub.settings.timezone, days=30)
>>> ov.totals.gmv_fen, ov.series[-1]
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from userops.analytics import definitions, queries
from userops.analytics.schemas import DayPoint, Overview, OverviewTotals
from userops.core.clock import local_midnight_utc, utcnow
from userops.core.errors import InvalidInput
from userops.warehouse import Warehouse

__all__ = ["MAX_DAYS", "DayPoint", "Overview", "OverviewTotals", "overview"]

MAX_DAYS = 3660
"""The longest series ``overview`` draws (about ten years of days)."""


def overview(
    warehouse: Warehouse, *, timezone: str, days: int = 90, today: date | None = None
) -> Overview:
    """Totals over all time and a series of the ``days`` shop-local days ending at ``today``.

    ``today`` defaults to the latest day with a paid order or a signup (so historical and demo
    data show a full chart), or the shop's current day when the warehouse is empty.
    """
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}, got {days}", field="days")
    tz = ZoneInfo(timezone)
    con = warehouse.ibis()
    try:
        return _overview(con, timezone=timezone, tz=tz, days=days, today=today)
    finally:
        con.disconnect()  # closes this thread's cursor only, not the warehouse


def _overview(
    con: ibis.BaseBackend, *, timezone: str, tz: ZoneInfo, days: int, today: date | None
) -> Overview:
    latest = _latest_day(con, timezone)
    end = today or latest or utcnow().astimezone(tz).date()
    covered = definitions.covered_until(timezone, latest)
    start = end - timedelta(days=days - 1)
    since, until = local_midnight_utc(start, tz), local_midnight_utc(end + timedelta(days=1), tz)

    row = _rows(queries.totals(con))[0]
    paid, gmv = int(row["paid_orders"] or 0), int(row["gmv_fen"] or 0)
    totals = OverviewTotals(
        customers=int(row["customers"] or 0),
        paying_customers=int(row["paying_customers"] or 0),
        paid_orders=paid,
        gmv_fen=gmv,
        aov_fen=gmv // paid if paid else 0,
    )
    signups = {
        r["day"]: int(r["new_customers"])
        for r in _rows(queries.new_customers_by_day(con, timezone, since, until))
    }
    sales = {r["day"]: r for r in _rows(queries.sales_by_day(con, timezone, since, until))}
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        sold = sales.get(day, {})
        series.append(
            DayPoint(
                day=day,
                new_customers=signups.get(day, 0),
                paid_orders=int(sold.get("paid_orders") or 0),
                gmv_fen=int(sold.get("gmv_fen") or 0),
                partial=definitions.is_partial(day + timedelta(days=1), covered),
            )
        )
    return Overview(
        timezone=timezone,
        start=start,
        end=end,
        totals=totals,
        series=series,
        covered_until=covered,
    )


def _latest_day(con: ibis.BaseBackend, timezone: str) -> date | None:
    row = _rows(queries.latest_days(con, timezone))[0]
    found = [d for d in (row["last_paid_day"], row["last_signup_day"]) if d is not None]
    return max(found) if found else None


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()
