"""Time inside userops is UTC-aware; the shop's timezone applies at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The instant a shop-local calendar day starts, in UTC."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def as_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """Naive datetimes are read in the shop timezone; aware ones are converted."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)
