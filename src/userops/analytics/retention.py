"""Retention (留存) with PostHog's semantics: N cohorts of calendar periods in the shop timezone.

``recurring``: cohort c holds the people who did the start event in period c; ``first_time``:
the people whose first-ever start event falls in period c. Cell 0 is the cohort size, cell k
the members who did the return event in period c + k (``cumulative``: in c + k or later);
with ``min_occurrences`` N, only a period with at least N return events counts as a return
(PostHog's ``minimumOccurrences``). Cells whose period has not ended by the end of the data are
flagged partial (see :mod:`userops.analytics.definitions`).

>>> from userops.analytics.retention import RetentionQuery, retention
>>> retention(hub.warehouse, timezone="Asia/Shanghai", query=RetentionQuery(period="week"))
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel

from userops.analytics import common, definitions, queries
from userops.analytics.schemas import Retention, RetentionCohort, RetentionGroup
from userops.core.clock import local_midnight_utc, local_today
from userops.core.errors import InvalidInput
from userops.warehouse import Warehouse

__all__ = ["MODES", "RetentionQuery", "retention"]

MODES = ("recurring", "first_time")
START_SPECIAL = ("signup", "first_order", "any", queries.ORDER_EVENT)
RETURN_SPECIAL = ("any", queries.ORDER_EVENT)


class RetentionQuery(BaseModel):
    period: str = "week"
    intervals: int = 8
    start_event: str = "signup"
    return_event: str = "any"
    mode: str = "recurring"
    cumulative: bool = False
    date_to: date | None = None
    """The last cohort is the period containing this day (default: the latest day with data)."""
    week_start: str = "monday"
    breakdown: str | None = None
    segment: str | None = None
    """Only people in this saved segment (as it is now); see ``retention(members=...)``."""
    min_occurrences: int = 1
    """A return cell counts people with at least this many return events in that period."""


Members = Callable[[ibis.BaseBackend], ir.Table]
"""Builds the table of ``customer_id``s a report is restricted to, on the report's backend."""


def retention(
    warehouse: Warehouse, *, timezone: str, query: RetentionQuery, members: Members | None = None
) -> Retention:
    common.check_period(query.period)
    common.check_intervals(query.period, query.intervals)
    common.check_week_start(query.week_start)
    common.choose(query.mode, MODES, "mode")
    definitions.check_min_occurrences(query.min_occurrences)
    with common.opened(warehouse) as con:
        common.check_event(con, query.start_event, special=START_SPECIAL, field="start_event")
        common.check_event(con, query.return_event, special=RETURN_SPECIAL, field="return_event")
        if query.segment and members is None:
            raise InvalidInput("a segment needs its members", field="segment")
        return _retention(con, timezone, query, members(con) if members else None)


def _retention(
    con: ibis.BaseBackend, timezone: str, q: RetentionQuery, members: ir.Table | None = None
) -> Retention:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    latest = common.latest_day(con, timezone)
    date_to = q.date_to or latest or local_today(timezone)
    last = common.index_of(date_to, q.period, q.week_start)
    first = last - q.intervals + 1
    since = local_midnight_utc(common.start_of(first, q.period, q.week_start), tz)
    until = local_midnight_utc(common.start_of(last + 1, q.period, q.week_start), tz)

    start = queries.stream(con, q.start_event)
    if q.mode == "first_time":
        start = start.group_by("person").aggregate(ts=start.ts.min())
    start = queries.with_period(
        queries.in_window(start, since, until), timezone, q.period, q.week_start, "c"
    )
    starts = start.select("person", "c").distinct()
    if members is not None:
        starts = starts.filter(starts.person.isin(members.customer_id))
    starts = common.attach_group(con, starts, q.breakdown)

    returns = definitions.period_returns(
        queries.stream(con, q.return_event),
        since=since,
        until=until,
        timezone=timezone,
        period=q.period,
        week_start=q.week_start,
        min_occurrences=q.min_occurrences,
    )
    covered = definitions.covered_until(timezone, latest)

    sizes = common.rows(starts.group_by(["group", "c"]).aggregate(n=starts.count()))
    cells = common.rows(queries.retention_cells(starts, returns, cumulative=q.cumulative))

    by_group: dict[str, dict[int, list[int]]] = defaultdict(dict)
    for r in sizes:
        row = [0] * (last - r["c"] + 1)
        row[0] = int(r["n"])
        by_group[r["group"]][r["c"]] = row
    for r in cells:
        by_group[r["group"]][r["c"]][r["k"]] += int(r["n"])
    if q.cumulative:
        for matrix in by_group.values():
            for row in matrix.values():
                for k in range(len(row) - 2, 0, -1):
                    row[k] += row[k + 1]

    def cohorts(matrix: dict[int, list[int]]) -> list[RetentionCohort]:
        out = []
        for c in range(first, last + 1):
            counts = matrix.get(c) or [0] * (last - c + 1)
            size = counts[0]
            partial = [
                definitions.is_partial(common.start_of(c + k + 1, q.period, q.week_start), covered)
                for k in range(len(counts))
            ]
            out.append(
                RetentionCohort(
                    start=common.start_of(c, q.period, q.week_start),
                    size=size,
                    counts=counts,
                    rates=[round(n / size, 4) if size else 0.0 for n in counts],
                    partial=any(partial),
                    partial_cells=partial,
                )
            )
        return out

    result = Retention(
        period=q.period,
        mode=q.mode,
        start_event=q.start_event,
        return_event=q.return_event,
        cumulative=q.cumulative,
        week_start=q.week_start,
        date_to=date_to,
        timezone=timezone,
        cohorts=[],
        breakdown=q.breakdown,
        min_occurrences=q.min_occurrences,
        definition=definitions.calendar_label(
            q.period, q.start_event, q.return_event, q.min_occurrences
        ),
        covered_until=covered,
    )
    if q.breakdown is None:
        result.cohorts = cohorts(by_group.get("", {}))
        return result
    groups = [RetentionGroup(value=v, cohorts=cohorts(m)) for v, m in by_group.items()]
    groups.sort(key=lambda g: (-sum(c.size for c in g.cohorts), g.value))
    result.groups = groups
    total: dict[int, list[int]] = {}
    for m in by_group.values():
        for c, row in m.items():
            acc = total.setdefault(c, [0] * len(row))
            for i, n in enumerate(row):
                acc[i] += n
    result.cohorts = cohorts(total)
    return result
