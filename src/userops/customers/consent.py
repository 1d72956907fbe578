"""Consent changes from every door (API, tracking, files) with their source and time.

A change is appended to ``consent_events`` and moves the current state in ``consents`` unless a
newer change is already recorded (a late, backdated message never overrides a fresher one).
Callers refresh the warehouse's ``customer_reach`` rows of the customers returned (through
:func:`userops.customers.service.mirror`) in the same operation, so a segment's ``reachable``
condition sees a withdrawal immediately.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from userops.core.clock import utcnow
from userops.core.errors import InvalidInput, NotFound
from userops.customers.models import Consent, ConsentEvent, Customer
from userops.customers.schemas import CONSENT_CHANNELS, CONSENT_STATUSES, ConsentRead
from userops.ledger import unit_of_work
from userops.warehouse import Warehouse

MAX_SOURCE = 200
_SKEW = timedelta(minutes=5)
"""Clock skew tolerated on a given ``at`` before it counts as in the future."""
CONSENT_EVENT = "Consent Updated"
"""The track event that records one consent change: properties ``channel``, ``status`` and
an optional ``source`` (docs/tracking.md)."""
CONSENT_TRAIT = "consent"
"""The identify trait holding ``{channel: status}`` (docs/tracking.md)."""


@dataclass(frozen=True)
class Change:
    customer_id: str
    channel: str
    status: str
    source: str
    at: datetime


def check(channel: Any, status: Any, source: Any, at: Any) -> tuple[str, str, str, datetime]:
    """The change as typed values, or InvalidInput naming the field and the rule."""
    if not isinstance(channel, str) or channel not in CONSENT_CHANNELS:
        raise InvalidInput(
            f"channel must be one of {', '.join(CONSENT_CHANNELS)}, got {channel!r}",
            field="channel",
        )
    if not isinstance(status, str) or status not in CONSENT_STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(CONSENT_STATUSES)}, got {status!r}", field="status"
        )
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE:
        raise InvalidInput(
            f"source is required: where the consent was given or withdrawn (1 to {MAX_SOURCE} "
            "characters)",
            field="source",
        )
    if at is None:
        at = utcnow()
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InvalidInput("at must be a date-time with a timezone offset", field="at")
    if at > utcnow().replace(microsecond=0) + _SKEW:
        raise InvalidInput("at may not be in the future", field="at")
    return channel, status, source.strip(), at.astimezone(UTC)


def record(
    session: Session,
    customer_id: str,
    *,
    channel: Any,
    status: Any,
    source: Any,
    at: Any = None,
) -> tuple[str, list[ConsentRead]]:
    """One change for one customer (a merged id records on the surviving customer). Returns the
    customer it was recorded on and their consents after it."""
    from userops.customers.service import consents, resolve

    channel, status, source, when = check(channel, status, source, at)
    survivor = resolve(session, user_id=customer_id, anonymous_id=None) or customer_id
    if session.get(Customer, survivor) is None:
        raise NotFound(f"no customer {customer_id!r}", field="customer_id")
    apply(session, [Change(survivor, channel, status, source, when)])
    return survivor, consents(session, survivor)


def apply(session: Session, changes: Iterable[Change]) -> set[str]:
    """Record changes, oldest first; returns the customers whose consent moved. Idempotent: a
    replayed change (same customer, channel, status and time) is recorded once."""
    moved: set[str] = set()
    for change in sorted(changes, key=lambda c: c.at):
        current = session.get(Consent, (change.customer_id, change.channel))
        newer = current is not None and current.recorded_at > change.at
        if current is not None and not newer and current.status == change.status:
            continue  # no change of state
        if _in_history(session, change):
            continue
        session.add(
            ConsentEvent(
                customer_id=change.customer_id,
                channel=change.channel,
                status=change.status,
                source=change.source,
                recorded_at=change.at,
            )
        )
        if current is None:
            session.add(
                Consent(
                    customer_id=change.customer_id,
                    channel=change.channel,
                    status=change.status,
                    source=change.source,
                    recorded_at=change.at,
                )
            )
        elif not newer:
            current.status, current.source = change.status, change.source
            current.recorded_at = change.at
        session.flush()
        moved.add(change.customer_id)
    return moved


def _in_history(session: Session, change: Change) -> bool:
    found = session.execute(
        sa.select(ConsentEvent.id).where(
            ConsentEvent.customer_id == change.customer_id,
            ConsentEvent.channel == change.channel,
            ConsentEvent.status == change.status,
            ConsentEvent.recorded_at == change.at,
        )
    ).first()
    return found is not None


def from_events(
    cur: duckdb.DuckDBPyConnection, table: str = "_good"
) -> list[tuple[str | None, str | None, str, str, str, datetime]]:
    """Consent changes carried by staged Segment messages: ``identify`` with the ``consent``
    trait (``{"sms": "granted", "email": "withdrawn"}``) and ``Consent Updated`` track events.
    Returns (user_id, anonymous_id, channel, status, source, at); unknown channels or statuses
    are skipped (the event itself is kept)."""
    rows = cur.execute(
        f"SELECT user_id, anonymous_id, timestamp, type, json_extract(traits, '$.{CONSENT_TRAIT}')"
        "::VARCHAR, properties::VARCHAR FROM "
        f"{table} WHERE (type = 'identify' AND json_type(traits, '$.{CONSENT_TRAIT}') = 'OBJECT')"
        " OR (type = 'track' AND event = ?) ORDER BY timestamp",
        [CONSENT_EVENT],
    ).fetchall()
    found: list[tuple[str | None, str | None, str, str, str, datetime]] = []
    for user_id, anonymous_id, at, kind, trait, properties in rows:
        at = at.astimezone(UTC)
        if kind == "identify":
            for channel, status in json.loads(trait).items():
                if channel in CONSENT_CHANNELS and status in CONSENT_STATUSES:
                    found.append((user_id, anonymous_id, channel, status, "tracking:identify", at))
            continue
        props = json.loads(properties or "{}")
        channel, status = props.get("channel"), props.get("status")
        if channel in CONSENT_CHANNELS and status in CONSENT_STATUSES:
            given = props.get("source")
            source = f"tracking:{given}" if isinstance(given, str) and given else "tracking"
            found.append((user_id, anonymous_id, channel, status, source[:MAX_SOURCE], at))
    return found


def apply_tracked(
    session: Session, found: list[tuple[str | None, str | None, str, str, str, datetime]]
) -> set[str]:
    """:func:`from_events` changes recorded on the customers their ids resolve to (after the
    segment's identity links were applied in this session)."""
    from userops.customers.service import resolve

    changes = []
    for user_id, anonymous_id, channel, status, source, at in found:
        customer_id = resolve(session, user_id=user_id, anonymous_id=anonymous_id)
        if customer_id is None or session.get(Customer, customer_id) is None:
            continue
        changes.append(Change(customer_id, channel, status, source, at))
    return apply(session, changes)


def record_now(
    engine: Engine,
    warehouse: Warehouse,
    customer_id: str,
    *,
    channel: Any,
    status: Any,
    source: Any,
    at: Any = None,
) -> tuple[str, list[ConsentRead]]:
    """:func:`record` in its own transaction, then the warehouse's reach rows of the customer,
    before returning: a segment counted right after sees the change."""
    from userops.customers.service import mirror

    with unit_of_work(engine) as session:
        survivor, current = record(
            session, customer_id, channel=channel, status=status, source=source, at=at
        )
    with unit_of_work(engine) as session:
        mirror(session, warehouse, [survivor])
    return survivor, current
