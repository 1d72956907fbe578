"""Ibis building blocks every warehouse domain shares (no table names here: see tables.OWNERS).

Shop-local calendar days come from :func:`local_day`, which converts explicitly instead of
relying on the connection's TimeZone setting (Ibis sets its DuckDB connections to UTC).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

_UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")
_WALL_CLOCK = dt.Timestamp(scale=6)


@ibis.udf.scalar.builtin(name="timezone", signature=((dt.string, _UTC_TIMESTAMP), _WALL_CLOCK))
def wall_clock(zone: str, ts: datetime) -> datetime:  # type: ignore[empty-body]
    """DuckDB's ``timezone(zone, timestamptz)``: the wall-clock time in ``zone`` (no offset).
    On Spark the same builtin is ``from_utc_timestamp(ts, zone)``."""


def local_day(ts: ir.TimestampValue, timezone: str) -> ir.DateValue:
    """The calendar day of an instant in ``timezone`` (an IANA name)."""
    return wall_clock(timezone, ts).date()
