"""Set-based writes of many profiles at once: a batch goes into a temporary table of the ledger,
then one INSERT … SELECT and one UPDATE … FROM per table do the work in the database. The same
SQL runs on SQLite and PostgreSQL. RETURNING tells which customers really changed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from userops.customers.models import Consent, ConsentEvent, ContactPoint, Customer
from userops.customers.schemas import CONSENT_CHANNELS, CONTACT_KINDS, PROFILE_FIELDS

_TEMP_SEQ = iter(range(1, 1 << 62))


def _temp_table(session: Session, columns: Sequence[sa.Column[Any]]) -> sa.Table:
    table = sa.Table(f"_in_{next(_TEMP_SEQ)}", sa.MetaData(), *columns, prefixes=["TEMPORARY"])
    table.create(session.connection())
    return table


def _fill(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Load rows into a temporary table with the driver's own executemany: the ORM's per-row
    bookkeeping costs more than the database here. Values go through the column types'
    bind processors (UTC datetimes, JSON) so they are stored as the ORM would store them."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = list(table.columns)
    processors = [c.type._cached_bind_processor(dialect) for c in columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.quote(table.name)} "
        f"({', '.join(dialect.identifier_preparer.quote(c.name) for c in columns)}) "
        f"VALUES ({', '.join(marker for _ in columns)})"
    )
    names = [c.name for c in columns]
    params = [
        tuple(
            proc(row.get(name)) if proc is not None else row.get(name)
            for name, proc in zip(names, processors, strict=True)
        )
        for row in rows
    ]
    connection.exec_driver_sql(sql, params)


def _drop(session: Session, table: sa.Table) -> None:
    table.drop(session.connection())


def _customer_column(name: str) -> sa.Column[Any]:
    source = Customer.__table__.c[name]
    return sa.Column(name, source.type)


def upsert_profiles(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    fields: Sequence[str],
    partial: bool,
    now: datetime,
) -> tuple[set[str], set[str]]:
    """Insert new customers and update changed ones. ``fields`` are the profile fields the rows
    carry; with ``partial`` a missing (None) value keeps the stored one. Returns (new, updated)."""
    fields = [f for f in PROFILE_FIELDS if f in fields]
    customers = Customer.__table__
    temp = _temp_table(
        session,
        [sa.Column("customer_id", sa.String(128), primary_key=True)]
        + [_customer_column(f) for f in fields],
    )
    try:
        _fill(session, temp, rows)  # _fill reads only the temporary table's columns
        src = temp.c
        inserted = (
            session.execute(
                sa.insert(customers)
                .from_select(
                    ["customer_id", *fields, "placeholder", "created_at", "updated_at"],
                    sa.select(
                        src.customer_id,
                        *(src[f] for f in fields),
                        sa.false(),
                        sa.literal(now, Customer.__table__.c.created_at.type),
                        sa.literal(now, Customer.__table__.c.updated_at.type),
                    ).where(~sa.exists().where(customers.c.customer_id == src.customer_id)),
                )
                .returning(customers.c.customer_id)
            )
            .scalars()
            .all()
        )
        new_ids = set(inserted)
        changed: list[Any] = [customers.c.placeholder.is_(True)]
        values: dict[str, Any] = {"placeholder": False, "updated_at": now}
        for f in fields:
            value = sa.func.coalesce(src[f], customers.c[f]) if partial else src[f]
            values[f] = value
            changed.append(customers.c[f].is_distinct_from(value))
        updated = (
            session.execute(
                sa.update(customers)
                .where(customers.c.customer_id == src.customer_id)
                .where(sa.or_(*changed))
                .values(values)
                .returning(customers.c.customer_id)
            )
            .scalars()
            .all()
        )
    finally:
        _drop(session, temp)
    return new_ids, set(updated) - new_ids


def upsert_contacts(
    session: Session, rows: Iterable[tuple[str, str, str]], *, now: datetime
) -> set[str]:
    """(customer_id, kind, value) rows; one contact point per kind. Returns changed customers."""
    contacts = ContactPoint.__table__
    payload = [{"customer_id": c, "kind": k, "value": v} for c, k, v in rows if v]
    if not payload:
        return set()
    temp = _temp_table(
        session,
        [
            sa.Column("customer_id", sa.String(128)),
            sa.Column("kind", sa.String(32)),
            sa.Column("value", sa.String(256)),
        ],
    )
    try:
        _fill(session, temp, payload)
        src = temp.c
        match = sa.and_(contacts.c.customer_id == src.customer_id, contacts.c.kind == src.kind)
        updated = (
            session.execute(
                sa.update(contacts)
                .where(match, contacts.c.value != src.value)
                .values(value=src.value, updated_at=now)
                .returning(contacts.c.customer_id)
            )
            .scalars()
            .all()
        )
        inserted = (
            session.execute(
                sa.insert(contacts)
                .from_select(
                    ["customer_id", "kind", "value", "updated_at"],
                    sa.select(
                        src.customer_id,
                        src.kind,
                        src.value,
                        sa.literal(now, contacts.c.updated_at.type),
                    ).where(~sa.exists().where(match)),
                )
                .returning(contacts.c.customer_id)
            )
            .scalars()
            .all()
        )
    finally:
        _drop(session, temp)
    return set(updated) | set(inserted)


def record_consents(
    session: Session,
    rows: Iterable[tuple[str, str, str]],
    *,
    source: str,
    now: datetime,
) -> set[str]:
    """(customer_id, channel, status) rows. Only a change of status is recorded, with its source
    and time, in the history and as the current state. Returns the customers whose consent moved."""
    payload = [{"customer_id": c, "channel": ch, "status": s} for c, ch, s in rows if s]
    if not payload:
        return set()
    consents, history = Consent.__table__, ConsentEvent.__table__
    temp = _temp_table(
        session,
        [
            sa.Column("customer_id", sa.String(128)),
            sa.Column("channel", sa.String(32)),
            sa.Column("status", sa.String(16)),
        ],
    )
    try:
        _fill(session, temp, payload)
        src = temp.c
        match = sa.and_(
            consents.c.customer_id == src.customer_id, consents.c.channel == src.channel
        )
        moved = (
            sa.select(src.customer_id, src.channel, src.status)
            .where(~sa.exists().where(match, consents.c.status == src.status))
            .subquery()
        )
        changed = (
            session.execute(
                sa.insert(history)
                .from_select(
                    ["customer_id", "channel", "status", "source", "recorded_at"],
                    sa.select(
                        moved.c.customer_id,
                        moved.c.channel,
                        moved.c.status,
                        sa.literal(source, history.c.source.type),
                        sa.literal(now, history.c.recorded_at.type),
                    ),
                )
                .returning(history.c.customer_id)
            )
            .scalars()
            .all()
        )
        session.execute(
            sa.update(consents)
            .where(match, consents.c.status != src.status)
            .values(status=src.status, source=source, recorded_at=now)
        )
        session.execute(
            sa.insert(consents).from_select(
                ["customer_id", "channel", "status", "source", "recorded_at"],
                sa.select(
                    src.customer_id,
                    src.channel,
                    src.status,
                    sa.literal(source, consents.c.source.type),
                    sa.literal(now, consents.c.recorded_at.type),
                ).where(~sa.exists().where(match)),
            )
        )
    finally:
        _drop(session, temp)
    return set(changed)


def ensure_exist(session: Session, customer_ids: Sequence[str], *, now: datetime) -> set[str]:
    """Create a placeholder for every id not known yet; returns the ids created."""
    if not customer_ids:
        return set()
    customers = Customer.__table__
    temp = _temp_table(session, [sa.Column("customer_id", sa.String(128), primary_key=True)])
    try:
        _fill(session, temp, [{"customer_id": c} for c in dict.fromkeys(customer_ids)])
        src = temp.c
        created = (
            session.execute(
                sa.insert(customers)
                .from_select(
                    ["customer_id", "placeholder", "created_at", "updated_at"],
                    sa.select(
                        src.customer_id,
                        sa.true(),
                        sa.literal(now, customers.c.created_at.type),
                        sa.literal(now, customers.c.updated_at.type),
                    ).where(~sa.exists().where(customers.c.customer_id == src.customer_id)),
                )
                .returning(customers.c.customer_id)
            )
            .scalars()
            .all()
        )
    finally:
        _drop(session, temp)
    return set(created)


def split_contacts_and_consents(
    rows: list[dict[str, Any]],
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    contacts = [
        (r["customer_id"], kind, r[kind]) for r in rows for kind in CONTACT_KINDS if r.get(kind)
    ]
    consents = [
        (r["customer_id"], channel, r[f"consent_{channel}"])
        for r in rows
        for channel in CONSENT_CHANNELS
        if r.get(f"consent_{channel}")
    ]
    return contacts, consents
