"""Writing and reading the audit log.

Record an action with one call, in the same ledger transaction as the change when the change is
in the ledger::

    audit.record(session, actor, "segment.create", target=name, after={"rule": rule})

and with :func:`record_now` (its own short transaction, after the change) when the change is in
the warehouse or a file. ``before``/``after`` are minimised here, whoever calls: values under
personal-data keys (phone, email, name, address, …) are replaced by ``"<redacted>"``, so only ids
and counts remain (docs/decisions/0016).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from userops.audit.models import AuditEntry
from userops.audit.schemas import ACTIONS, AuditPage, AuditQuery, AuditRead
from userops.core.clock import utcnow
from userops.ledger import unit_of_work

ACTOR_KINDS = ("user", "key", "cli", "system")
PERSONAL_KEYS = frozenset(
    {
        "phone",
        "email",
        "name",
        "address",
        "password",
        "wechat_openid",
        "wechat_unionid",
        "openid",
        "unionid",
        "birthday",
        "key",
    }
)
REDACTED = "<redacted>"
MAX_JSON_CHARS = 20_000


@dataclass(frozen=True)
class Actor:
    """Who did it: a console user (``user``), an API key (``key``, by its public prefix; with the
    user it belongs to in ``name``), a CLI run (``cli``: ``cli@host:osuser``) or ``system``."""

    kind: str
    name: str
    request_id: str | None = None
    client: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"unknown actor kind {self.kind!r}")

    def with_request(self, request_id: str | None, client: str | None) -> Actor:
        return replace(self, request_id=request_id, client=client)


SYSTEM = Actor("system", "system")


def minimise(value: Any, _depth: int = 0) -> Any:
    """``value`` with personal data removed: keys in :data:`PERSONAL_KEYS` keep their place
    but not their value. Too deep or too long is cut, so one entry stays small."""
    if _depth > 6:
        return REDACTED
    if isinstance(value, dict):
        return {
            str(k): (REDACTED if str(k).lower() in PERSONAL_KEYS else minimise(v, _depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [minimise(v, _depth + 1) for v in value[:200]]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _bounded(value: Any) -> Any:
    if value is None:
        return None
    clean = minimise(value)
    text = json.dumps(clean, ensure_ascii=False, default=str)
    return clean if len(text) <= MAX_JSON_CHARS else {"truncated": True, "chars": len(text)}


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target: str | None = None,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> None:
    """Add one entry to ``session`` (committed, or rolled back, with the change it records)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r} is not in audit.schemas.ACTIONS")
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor_kind=actor.kind,
            actor=actor.name[:120],
            action=action,
            target=None if target is None else str(target)[:200],
            before=_bounded(before),
            after=_bounded(after),
            request_id=(actor.request_id or None) and actor.request_id[:64],  # type: ignore[index]
            client=(actor.client or None) and actor.client[:32],  # type: ignore[index]
        )
    )
    session.flush()


def record_now(engine: Engine, actor: Actor, action: str, **fields: Any) -> None:
    """:func:`record` in a transaction of its own (for changes outside the ledger)."""
    with unit_of_work(engine) as session:
        record(session, actor, action, **fields)


def _filtered(query: AuditQuery) -> sa.Select[tuple[AuditEntry]]:
    stmt = sa.select(AuditEntry)
    if query.actor:  # a user, and the keys of that user ("alice/uo_a_…")
        stmt = stmt.where(
            sa.or_(
                AuditEntry.actor == query.actor,
                AuditEntry.actor.startswith(query.actor + "/", autoescape=True),
            )
        )
    if query.action:
        if query.action.endswith(".*"):
            stmt = stmt.where(AuditEntry.action.startswith(query.action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == query.action)
    if query.target:
        stmt = stmt.where(AuditEntry.target == query.target)
    if query.since:
        stmt = stmt.where(AuditEntry.at >= query.since)
    if query.until:
        stmt = stmt.where(AuditEntry.at < query.until)
    return stmt


def search(session: Session, query: AuditQuery) -> AuditPage:
    """Newest first; ``total`` counts every match, ``entries`` holds one page of them. A range
    whose ``until`` is not after ``since`` is empty (every parameter is valid on its own)."""
    stmt = _filtered(query)
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    ).scalars()
    return AuditPage(total=total, entries=[AuditRead.model_validate(r) for r in rows])


CSV_COLUMNS = (
    "id",
    "at",
    "actor_kind",
    "actor",
    "action",
    "target",
    "before",
    "after",
    "request_id",
    "client",
)


def to_csv(entries: Iterable[AuditRead]) -> str:
    """CSV (UTF-8 with BOM, so Excel reads Chinese names); JSON columns as compact JSON.
    Cells starting with = + - @ are prefixed with ' so a spreadsheet does not run them."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        row = e.model_dump(mode="json")
        cells = []
        for column in CSV_COLUMNS:
            cell = row[column]
            if column in ("before", "after"):
                cell = "" if cell is None else json.dumps(cell, ensure_ascii=False)
            text = "" if cell is None else str(cell)
            cells.append("'" + text if text[:1] in ("=", "+", "-", "@") else text)
        writer.writerow(cells)
    return buffer.getvalue()


def export(session: Session, query: AuditQuery, *, max_rows: int = 100_000) -> str:
    rows = session.execute(
        _filtered(query).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(max_rows)
    ).scalars()
    return to_csv(AuditRead.model_validate(r) for r in rows)
