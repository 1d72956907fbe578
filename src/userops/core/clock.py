"""Time inside userops is UTC-aware; the shop's timezone applies at the edges."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

FROZEN_ENV = "USEROPS_NOW"


def utcnow() -> datetime:
    """Now, in UTC. ``USEROPS_NOW`` (ISO 8601; naive means UTC) freezes the clock, so tests and
    reproducible runs see a fixed instant without patching anything."""
    frozen = os.environ.get(FROZEN_ENV)
    if not frozen:
        return datetime.now(UTC)
    value = datetime.fromisoformat(frozen)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The instant a shop-local calendar day starts, in UTC."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def as_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """Naive datetimes are read in the shop timezone; aware ones are converted."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def local_today(timezone: str) -> date:
    """Today's calendar day in the shop's ``timezone`` (an IANA name), by :func:`utcnow`."""
    return utcnow().astimezone(ZoneInfo(timezone)).date()
