"""The definitions two reports share, written once: return windows, occurrences, partial periods.

Two ways of asking "did they come back?" are in use, and they give different numbers for the
same cohort, so both are defined here and every report that shows one names which it is:

* **calendar** (the retention report, PostHog's insight): a cohort member counts in cell k when
  they did the return event at least ``min_occurrences`` times in the calendar period c + k
  (shop timezone). For a weekly signup cohort, cell +1 is "the calendar week after the signup
  week", which is 1 to 13 days after signup depending on the weekday of signup.
* **days after start** (the AARRR board's week-1 / week-4 retention): active in days
  [7, 14) / [28, 35) after the person's own signup instant, whatever the weekday.

The AARRR board also shows the calendar definition (``retention_next_period``), computed by the
same function as the retention report's +1 cell, so the two agree where they measure the same
thing (tests/analytics/test_definitions.py). A period that has not ended yet by the end of the
data (or of today, in the shop timezone) is **partial**: its counts can still grow, so every
report flags it ``partial: true`` and the console draws it hatched or dashed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis.expr.types as ir

from userops.analytics import queries
from userops.core.clock import utcnow
from userops.core.errors import InvalidInput

__all__ = [
    "MAX_OCCURRENCES",
    "WEEK1",
    "WEEK4",
    "DaysAfter",
    "calendar_label",
    "check_min_occurrences",
    "covered_until",
    "is_partial",
    "period_returns",
    "returned_days_after",
]

MAX_OCCURRENCES = 1000


@dataclass(frozen=True)
class DaysAfter:
    """Activity in days [first, last + 1) after each person's own start instant."""

    first: int
    last: int
    """Inclusive: WEEK1 is days 7..13."""

    @property
    def end(self) -> int:
        return self.last + 1

    def label(self, start: str, activity: str) -> str:
        return (
            f"returned in days {self.first}-{self.last} after {start} (measured from each "
            f"person's own {start} time), {_activity(activity)}"
        )


WEEK1 = DaysAfter(7, 13)
WEEK4 = DaysAfter(28, 34)


def _activity(name: str, min_occurrences: int = 1) -> str:
    what = "any event or paid order" if name == "any" else f"event {name!r}"
    if min_occurrences > 1:
        return f"at least {min_occurrences} times {what}"
    return what


def calendar_label(period: str, start: str, activity: str, min_occurrences: int = 1) -> str:
    """What retention cell k counts, in words (shown by the API and the console)."""
    return (
        f"cell +k: cohort members who did {_activity(activity, min_occurrences)} in the "
        f"calendar {period} k {period}s after the {period} of their {start} (shop timezone)"
    )


def check_min_occurrences(n: int) -> None:
    if not 1 <= n <= MAX_OCCURRENCES:
        raise InvalidInput(
            f"min_occurrences must be between 1 and {MAX_OCCURRENCES}, got {n}",
            field="min_occurrences",
        )


def period_returns(
    stream: ir.Table,
    *,
    since: datetime,
    until: datetime,
    timezone: str,
    period: str,
    week_start: str,
    min_occurrences: int = 1,
) -> ir.Table:
    """(person, p): the calendar periods in which a person did ``stream`` at least
    ``min_occurrences`` times (PostHog's ``minimumOccurrences``). Used by the retention matrix
    and by the AARRR board's next-period retention, so both count a return the same way."""
    ret = queries.with_period(
        queries.in_window(stream, since, until), timezone, period, week_start, "p"
    )
    if min_occurrences <= 1:
        return ret.select("person", "p").distinct()
    per = ret.group_by(["person", "p"]).aggregate(n=ret.count())
    return per.filter(per.n >= min_occurrences).select("person", "p")


def returned_days_after(cohort: ir.Table, activity: ir.Table, window: DaysAfter) -> ir.Table:
    """(person) of ``cohort`` (person, t0) active in [t0 + first, t0 + last + 1) days."""
    return queries.retained_people(cohort, activity, window.first, window.end)


def covered_until(timezone: str, latest: date | None) -> date:
    """The first shop-local day the data does not cover yet: the day after the latest day with
    data, but never after today (today is not over)."""
    today = utcnow().astimezone(ZoneInfo(timezone)).date()
    if latest is None:
        return today
    return min(latest + timedelta(days=1), today)


def is_partial(period_end: date, covered: date) -> bool:
    """A period [start, period_end) is partial when the data stops before its end."""
    return period_end > covered
