"""What every report shares: opening Ibis, validating names, periods and breakdowns."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from userops.analytics import queries
from userops.core.errors import InvalidInput
from userops.ingest import queries as facts
from userops.tags import queries as tags
from userops.warehouse import Warehouse

PERIODS = ("day", "week", "month")
WEEK_STARTS = ("monday", "sunday")
MAX_INTERVALS = {"day": 400, "week": 160, "month": 60}
PROFILE_BREAKDOWNS = (
    "signup_channel",
    "province",
    "city",
    "gender",
    "occupation",
    "industry",
    "income_band",
    "timezone",
)
"""Profile columns a report can break down by; ``attr:KEY`` reads ``customers.attributes`` and
``tag:FAMILY`` reads the ``customer_tags`` table."""
NONE_VALUE = "(none)"


@contextmanager
def opened(warehouse: Warehouse) -> Iterator[ibis.BaseBackend]:
    con = warehouse.ibis()
    try:
        yield con
    finally:
        con.disconnect()  # closes this thread's cursor only, not the warehouse


def rows(expr: ir.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def check_period(period: str, field: str = "period") -> None:
    if period not in PERIODS:
        raise InvalidInput(
            f"{field} must be one of {', '.join(PERIODS)}, got {period!r}", field=field
        )


def check_intervals(period: str, intervals: int) -> None:
    top = MAX_INTERVALS[period]
    if not 1 <= intervals <= top:
        raise InvalidInput(
            f"intervals must be between 1 and {top} for period {period}, got {intervals}",
            field="intervals",
        )


def check_week_start(week_start: str) -> None:
    if week_start not in WEEK_STARTS:
        raise InvalidInput(
            f"week_start must be one of {', '.join(WEEK_STARTS)}, got {week_start!r}",
            field="week_start",
        )


def choose(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidInput(
            f"{field} must be one of {', '.join(allowed)}, got {value!r}", field=field
        )
    return value


def rows_exist(expr: ir.Table) -> bool:
    return bool(rows(expr))


def known_events(con: ibis.BaseBackend) -> list[str]:
    return sorted(r["name"] for r in rows(queries.event_names(con)))


def is_known_event(con: ibis.BaseBackend, name: str, *, special: tuple[str, ...]) -> bool:
    """A special name (``order``, ``any``…) or a behaviour event seen in the warehouse."""
    if name in special or rows_exist(queries.event_named(con, name)):
        return True
    return name in known_events(con)


def close_matches(con: ibis.BaseBackend, name: str, *, special: tuple[str, ...]) -> list[str]:
    """Up to three known names closest to ``name`` (difflib), for "did you mean"."""
    everything = list(dict.fromkeys([*special, *known_events(con)]))
    return difflib.get_close_matches(name, everything, n=3, cutoff=0.5)


def unknown_event(con: ibis.BaseBackend, name: str, *, special: tuple[str, ...]) -> str | None:
    """None for a known name; otherwise a sentence with the closest and all known names."""
    if is_known_event(con, name, special=special):
        return None
    everything = list(dict.fromkeys([*special, *known_events(con)]))
    close = close_matches(con, name, special=special)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown event {name!r}{hint} known: {', '.join(everything)}"


def check_event(con: ibis.BaseBackend, name: str, *, special: tuple[str, ...], field: str) -> None:
    """Refuse a name that is neither special nor a behaviour event seen in the warehouse, with
    the known names and the closest ones."""
    problem = unknown_event(con, name, special=special)
    if problem:
        raise InvalidInput(problem, field=field)


def latest_day(con: ibis.BaseBackend, timezone: str) -> date | None:
    """The shop-local day of the latest event, paid order or signup."""
    ev = facts.events(con)
    found: list[date] = []
    last = rows(ev.aggregate(d=queries.local_day(ev.timestamp.max(), timezone)))[0]["d"]
    if last is not None:
        found.append(last)
    row = rows(queries.latest_days(con, timezone))[0]
    found += [d for d in (row["last_paid_day"], row["last_signup_day"]) if d is not None]
    return max(found) if found else None


def index_of(day: date, period: str, week_start: str = "monday") -> int:
    """The Python twin of :func:`queries.period_index`."""
    epoch = (day - date(1970, 1, 1)).days
    if period == "day":
        return epoch
    if period == "week":
        return (epoch + (3 if week_start == "monday" else 4)) // 7
    return day.year * 12 + day.month - 1


def start_of(index: int, period: str, week_start: str = "monday") -> date:
    """The first calendar day of period ``index``."""
    if period == "day":
        return date(1970, 1, 1) + timedelta(days=index)
    if period == "week":
        return date(1970, 1, 1) + timedelta(days=index * 7 - (3 if week_start == "monday" else 4))
    return date(index // 12, index % 12 + 1, 1)


def available_breakdowns(con: ibis.BaseBackend) -> list[str]:
    names = [*list(PROFILE_BREAKDOWNS), "attr:KEY"]
    stored = tags.stored_tags(con)
    if stored is not None:
        names += sorted(f"tag:{r['family']}" for r in rows(stored.select("family").distinct()))
    return names


def breakdown_values(con: ibis.BaseBackend, breakdown: str) -> ir.Table:
    """(person, value) for a breakdown: a profile column, ``attr:KEY`` or ``tag:FAMILY``."""
    if breakdown in PROFILE_BREAKDOWNS:
        return queries.profile_values(con, breakdown)
    if breakdown.startswith("attr:") and len(breakdown) > 5:
        return queries.profile_values(con, breakdown[5:])
    if breakdown.startswith("tag:") and len(breakdown) > 4:
        if tags.stored_tags(con) is None:
            raise InvalidInput(
                "tags are not in the warehouse yet (no customer_tags table); available "
                f"breakdowns: {', '.join(available_breakdowns(con))}",
                field="breakdown",
            )
        if breakdown not in available_breakdowns(con):
            raise InvalidInput(
                f"no customer has a tag of family {breakdown[4:]!r}; available breakdowns: "
                f"{', '.join(available_breakdowns(con))}",
                field="breakdown",
            )
        return queries.tag_values(con, breakdown[4:])
    raise InvalidInput(
        f"unknown breakdown {breakdown!r}; available: {', '.join(available_breakdowns(con))}",
        field="breakdown",
    )


def attach_group(con: ibis.BaseBackend, people: ir.Table, breakdown: str | None) -> ir.Table:
    """``people`` plus a ``group`` column: the breakdown value, or '' without a breakdown."""
    if breakdown is None:
        return people.mutate(group=ibis.literal(""))
    values = breakdown_values(con, breakdown)
    j = people.left_join(values, people.person == values.person)
    return j.mutate(group=ibis.coalesce(j.value, NONE_VALUE)).drop(
        "value", *[c for c in j.columns if c.endswith("_right")]
    )


def safe_div(a: float, b: float, digits: int = 4) -> float | None:
    return round(a / b, digits) if b else None
