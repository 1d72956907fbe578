"""Refresh the customer system: mirror reachability → recompute tags → record every segment.

This is the one place the three steps are chained; the ``tags.refresh`` job (CLI), the API route
and the console's "refresh now" button all call :func:`refresh_customer_system`, so they produce
the same tags, snapshots and segment history for the same instant.

The steps cannot share one transaction (the ledger and the warehouse are two databases): each is
its own, in an order where a failure leaves a consistent, merely older, state. Reachability is
mirrored first because segment rules with ``reachable`` read it; the tags are replaced in one
warehouse transaction; segments are recorded last because their rules read the new tags.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Engine

from userops.core.clock import local_midnight_utc, utcnow
from userops.core.errors import InvalidInput
from userops.customers.reach import mirror_reach
from userops.ledger import unit_of_work
from userops.segments import service as segments
from userops.tags import service as tags
from userops.tags.rules import TagSettings
from userops.tags.schemas import RefreshResult
from userops.warehouse import Warehouse

CURRENT_WINDOW = timedelta(hours=24)
"""Without ``backfill``, ``as_of`` must lie within 24 hours of now: today's or tomorrow's
shop-local midnight passes, yesterday's does not."""

Progress = Callable[[str, int, int | None], None]


class CustomerSystemRefresh(RefreshResult):
    """A refresh's tag counts plus, per saved segment, its size and who entered and left."""

    segments: dict[str, dict[str, int]]


class RefreshRequest(BaseModel):
    """What a caller may ask of a refresh: the shop-local day (default now) and whether a day
    outside the current window is meant (a backfill of history)."""

    as_of: date | None = None
    backfill: bool = False


def as_of_instant(
    day: date | None, tz: ZoneInfo, *, backfill: bool, now: datetime | None = None
) -> datetime:
    """The refresh instant: midnight of ``day`` in the shop timezone, or now.

    A refresh replaces the *current* customer system, so a day long past (or one that has not
    come) would silently swap today's tags for an old or empty picture. Such a day is refused
    unless ``backfill`` says it is meant; a day in the future is refused even then, as no data
    can exist for it yet.
    """
    now = now or utcnow()
    if day is None:
        return now
    instant = local_midnight_utc(day, tz)
    if instant > now + CURRENT_WINDOW:
        raise InvalidInput(
            f"as_of {day.isoformat()} is in the future; a refresh can only look at data that "
            "exists",
            field="as_of",
        )
    if instant < now - CURRENT_WINDOW and not backfill:
        raise InvalidInput(
            f"as_of {day.isoformat()} is in the past: it would replace the current customer "
            "system with the one of that day; ask for a backfill (--backfill, backfill=true) "
            "if that is meant",
            field="as_of",
        )
    return instant


def refresh_customer_system(
    engine: Engine,
    warehouse: Warehouse,
    *,
    tag_settings: TagSettings,
    tz: ZoneInfo,
    request: RefreshRequest | None = None,
    progress: Progress | None = None,
) -> CustomerSystemRefresh:
    """Check ``request.as_of`` (see :func:`as_of_instant`), then run the three steps."""
    request = request or RefreshRequest()
    as_of = as_of_instant(request.as_of, tz, backfill=request.backfill)
    step = progress or _silent
    step("contacts", 0, 1)
    with unit_of_work(engine) as session:
        mirror_reach(session, warehouse)
    step("contacts", 1, 1)
    step("tags", 0, 1)
    result = tags.refresh(warehouse, as_of=as_of, settings=tag_settings)
    step("tags", 1, 1)
    with unit_of_work(engine) as session:
        sizes = segments.record_all(session, warehouse, as_of=as_of, progress=progress)
    return CustomerSystemRefresh(**result.model_dump(), segments=sizes)


def _silent(_step: str, _done: int, _total: int | None) -> None:
    return None


def parse_day(value: Any, field: str = "as_of") -> date | None:
    """A ``YYYY-MM-DD`` given as text (CLI, job parameters), or nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{field} needs a date YYYY-MM-DD, got {value!r}", field=field) from exc
