"""The customers facade: profiles, contact points, consent, identities, the 360 view.

Functions take the caller's ledger session and never commit; the warehouse mirror is refreshed
with :func:`mirror` after the caller's commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from userops.core.errors import NotFound
from userops.customers import bulk, queries, reach
from userops.customers.models import Consent, ContactPoint, Customer, Identity, Merge
from userops.customers.schemas import (
    CONTACT_KINDS,
    MIRRORED_FIELDS,
    ConsentRead,
    ContactPointRead,
    Customer360,
    CustomerSummary,
    EventRead,
    MergeRead,
    OrderRead,
    OrderTotals,
    ProfileRead,
)
from userops.warehouse import Warehouse
from userops.warehouse.tables import TABLES

_CHUNK = 10_000
_PLACEHOLDER_CHUNK = 100_000
"""Placeholder ids go to the ledger through its bulk path (COPY / executemany), 100,000 at once."""


def upsert_profiles(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    fields: Sequence[str],
    partial: bool = False,
    source: str,
    now: datetime,
) -> tuple[set[str], set[str]]:
    """Write profiles with their contact points and consent. Returns (new ids, updated ids)."""
    new: set[str] = set()
    touched: set[str] = set()
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        created, updated = bulk.upsert_profiles(
            session, chunk, fields=fields, partial=partial, now=now
        )
        contacts, consents = bulk.split_contacts_and_consents(chunk)
        touched |= updated
        touched |= bulk.upsert_contacts(session, contacts, now=now)
        touched |= bulk.record_consents(session, consents, source=source, now=now)
        new |= created
    return new, touched - new


def create_placeholders(
    session: Session, customer_ids: Sequence[str], *, now: datetime
) -> set[str]:
    """Customers named by an order or event before their profile arrived."""
    created: set[str] = set()
    for start in range(0, len(customer_ids), _PLACEHOLDER_CHUNK):
        part = customer_ids[start : start + _PLACEHOLDER_CHUNK]
        created |= bulk.ensure_exist(session, part, now=now)
    return created


_MIRROR_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("gender", pa.string()),
        ("birthday", pa.date32()),
        ("province", pa.string()),
        ("city", pa.string()),
        ("occupation", pa.string()),
        ("industry", pa.string()),
        ("income_band", pa.string()),
        ("interests", pa.list_(pa.string())),
        ("signup_at", pa.timestamp("us", tz="UTC")),
        ("signup_channel", pa.string()),
        ("referrer_id", pa.string()),
        ("timezone", pa.string()),
        ("attributes", pa.string()),
        ("placeholder", pa.bool_()),
        ("merged_into", pa.string()),
    ]
)
assert list(_MIRROR_SCHEMA.names) == list(TABLES["customers"])


def mirror(session: Session, warehouse: Warehouse, customer_ids: Sequence[str]) -> None:
    """Copy the analytic profile fields of these customers from the ledger to the warehouse,
    and their reachability (contact points and consent) to ``customer_reach``, so that segments
    see a change of consent as soon as the operation that made it returns."""
    ids = list(dict.fromkeys(customer_ids))
    columns = [Customer.__table__.c[name] for name in ("customer_id", *MIRRORED_FIELDS)]
    columns += [Customer.placeholder, Customer.merged_into]
    for start in range(0, len(ids), 20_000):
        part = ids[start : start + 20_000]
        rows: list[Any] = []
        connection = session.connection()
        for sub in range(0, len(part), 2000):
            rows += connection.execute(
                sa.select(*columns).where(Customer.customer_id.in_(part[sub : sub + 2000]))
            ).all()
        values = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
        names = _MIRROR_SCHEMA.names
        attributes = names.index("attributes")
        values[attributes] = [
            None if v is None else json.dumps(v, ensure_ascii=False) for v in values[attributes]
        ]
        table = pa.table(
            [pa.array(v, type=_MIRROR_SCHEMA.field(i).type) for i, v in enumerate(values)],
            schema=_MIRROR_SCHEMA,
        )
        gone = pa.table({"customer_id": pa.array(part, pa.string())})
        with warehouse.write() as cur:
            cur.register("_gone", gone)
            cur.register("_mirror", table)
            cur.execute(
                "DELETE FROM customers WHERE customer_id IN (SELECT customer_id FROM _gone)"
            )
            cur.execute("INSERT INTO customers SELECT * FROM _mirror")
            cur.unregister("_gone")
            cur.unregister("_mirror")
    reach.mirror_reach_for(session, warehouse, ids)


def mirror_placeholders(warehouse: Warehouse, customer_ids: Sequence[str]) -> None:
    """Mirror customers just created as placeholders: their analytic fields are all empty, so
    the rows are built here instead of read back from the ledger."""
    if not customer_ids:
        return
    ids = pa.table({"customer_id": pa.array(list(customer_ids), pa.string())})
    with warehouse.write() as cur:
        cur.register("_placeholders", ids)
        cur.execute(
            "DELETE FROM customers WHERE customer_id IN (SELECT customer_id FROM _placeholders)"
        )
        cur.execute(
            "INSERT INTO customers (customer_id, placeholder) SELECT customer_id, true "
            "FROM _placeholders"
        )
        cur.unregister("_placeholders")


def known_ids(session: Session, customer_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(customer_ids), _CHUNK):
        part = customer_ids[start : start + _CHUNK]
        found |= set(
            session.execute(
                sa.select(Customer.customer_id).where(Customer.customer_id.in_(part))
            ).scalars()
        )
    return found


def resolve(session: Session, *, user_id: str | None, anonymous_id: str | None) -> str | None:
    """The customer a message belongs to: a merged user id or a linked anonymous id resolve
    to the surviving customer."""
    customer_id: str | None = None
    if user_id:
        customer_id = (
            session.execute(
                sa.select(Identity.customer_id).where(
                    Identity.kind == "user_id", Identity.value == user_id
                )
            ).scalar_one_or_none()
            or user_id
        )
    elif anonymous_id:
        customer_id = session.execute(
            sa.select(Identity.customer_id).where(
                Identity.kind == "anonymous_id", Identity.value == anonymous_id
            )
        ).scalar_one_or_none()
    if customer_id is None:
        return None
    for _ in range(16):  # follow merge chains (a → b → c)
        merged = session.get(Customer, customer_id)
        if merged is None or merged.merged_into is None:
            break
        customer_id = merged.merged_into
    return customer_id


def _identity_exists(session: Session, kind: str, value: str) -> bool:
    found = session.execute(
        sa.select(Identity.id).where(Identity.kind == kind, Identity.value == value)
    ).first()
    return found is not None


def _link(
    session: Session,
    *,
    kind: str,
    value: str,
    target: str,
    reason: str,
    message_id: str | None,
    at: datetime,
    source: str,
) -> None:
    """Point the id at ``target`` (unless it already points somewhere) and record the merge."""
    if not _identity_exists(session, kind, value):
        session.add(
            Identity(kind=kind, value=value, customer_id=target, source=source, linked_at=at)
        )
    session.add(
        Merge(
            into_customer_id=target,
            from_kind=kind,
            from_value=value,
            reason=reason,
            message_id=message_id,
            merged_at=at,
        )
    )


def link_anonymous(
    session: Session,
    links: Sequence[tuple[str, str, str | None, datetime]],
    *,
    source: str,
) -> list[str]:
    """(anonymous_id, customer_id, message_id, at) from identify calls. An anonymous id joins the
    first customer that identifies it; the link is recorded as a merge. Returns linked customers."""
    linked: list[str] = []
    for anonymous_id, customer_id, message_id, at in links:
        if _identity_exists(session, "anonymous_id", anonymous_id):
            continue
        _link(
            session,
            kind="anonymous_id",
            value=anonymous_id,
            target=customer_id,
            reason="identify",
            message_id=message_id,
            at=at,
            source=source,
        )
        session.flush()
        linked.append(customer_id)
    return linked


def alias(
    session: Session,
    *,
    previous_id: str,
    user_id: str,
    message_id: str | None,
    at: datetime,
    source: str,
) -> list[str]:
    """Segment ``alias``: ``previous_id`` (an anonymous id or an older user id) becomes ``user_id``.
    A customer under the previous id is merged into the new one; its identities move, its row
    stays with ``merged_into`` set, and the merge is recorded. Returns the customers changed."""
    if (
        message_id
        and session.execute(
            sa.select(Merge.id).where(Merge.message_id == message_id, Merge.reason == "alias")
        ).first()
    ):
        return []  # this alias was applied before (an import re-run or an SDK retry)
    target = resolve(session, user_id=user_id, anonymous_id=None) or user_id
    previous = session.get(Customer, previous_id)
    changed = [target]
    link = {
        "target": target,
        "reason": "alias",
        "message_id": message_id,
        "at": at,
        "source": source,
    }
    if previous is not None and previous.customer_id != target and previous.merged_into != target:
        previous.merged_into = target
        previous.updated_at = at
        session.execute(
            sa.update(Identity)
            .where(Identity.customer_id == previous.customer_id)
            .values(customer_id=target)
        )
        _link(session, kind="user_id", value=previous_id, **link)
        changed.append(previous.customer_id)
    elif previous is None and not _identity_exists(session, "anonymous_id", previous_id):
        _link(session, kind="anonymous_id", value=previous_id, **link)
    session.flush()
    return changed


def mirror_identities(session: Session, warehouse: Warehouse) -> None:
    """Rebuild the warehouse's identity map (anonymous ids and aliases → customer)."""
    rows = session.execute(sa.select(Identity.kind, Identity.value, Identity.customer_id)).all()
    table = pa.table(
        {
            "kind": pa.array([r[0] for r in rows], pa.string()),
            "value": pa.array([r[1] for r in rows], pa.string()),
            "customer_id": pa.array([r[2] for r in rows], pa.string()),
        }
    )
    with warehouse.write() as cur:
        cur.register("_ids", table)
        cur.execute("DELETE FROM identities")
        cur.execute("INSERT INTO identities SELECT * FROM _ids")
        cur.unregister("_ids")


def get_profile(session: Session, customer_id: str) -> ProfileRead:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id!r}", field="customer_id")
    return ProfileRead.model_validate(customer, from_attributes=True)


def contact_points(session: Session, customer_id: str) -> list[ContactPointRead]:
    rows = session.execute(
        sa.select(ContactPoint).where(ContactPoint.customer_id == customer_id)
    ).scalars()
    order = {kind: i for i, kind in enumerate(CONTACT_KINDS)}
    return sorted(
        (ContactPointRead(kind=r.kind, value=r.value) for r in rows),
        key=lambda c: order.get(c.kind, 99),
    )


def consents(session: Session, customer_id: str) -> list[ConsentRead]:
    rows = session.execute(
        sa.select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.channel)
    ).scalars()
    return [ConsentRead.model_validate(r, from_attributes=True) for r in rows]


def merges(session: Session, customer_id: str) -> list[MergeRead]:
    rows = session.execute(
        sa.select(Merge).where(Merge.into_customer_id == customer_id).order_by(Merge.merged_at)
    ).scalars()
    return [MergeRead.model_validate(r, from_attributes=True) for r in rows]


def identities(session: Session, customer_id: str) -> list[tuple[str, str]]:
    rows = session.execute(
        sa.select(Identity.kind, Identity.value).where(Identity.customer_id == customer_id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def search(session: Session, query: str, *, limit: int = 20) -> list[CustomerSummary]:
    """By customer id, phone, email (exact) or name (prefix)."""
    query = query.strip()
    if not query:
        rows = (
            session.execute(
                sa.select(Customer)
                .where(Customer.merged_into.is_(None))
                .order_by(Customer.signup_at.desc().nulls_last(), Customer.customer_id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    else:
        by_contact = sa.select(ContactPoint.customer_id).where(
            ContactPoint.kind.in_(("phone", "email", "wechat_openid")),
            ContactPoint.value == query,
        )
        rows = (
            session.execute(
                sa.select(Customer)
                .where(
                    sa.or_(
                        Customer.customer_id == query,
                        Customer.customer_id.in_(by_contact),
                        Customer.name.startswith(query, autoescape=True),
                    )
                )
                .order_by(Customer.customer_id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    return [CustomerSummary.model_validate(r, from_attributes=True) for r in rows]


def count(session: Session) -> int:
    return int(
        session.execute(
            sa.select(sa.func.count()).select_from(Customer).where(Customer.merged_into.is_(None))
        ).scalar_one()
    )


def customer_360(
    session: Session, warehouse: Warehouse, customer_id: str, *, limit: int = 20
) -> Customer360:
    """Everything about one customer: profile, how to reach them, consent, identities,
    merges, and their latest orders and events (including those under merged ids)."""
    survivor = resolve(session, user_id=customer_id, anonymous_id=None) or customer_id
    profile = get_profile(session, survivor)
    ids = identities(session, survivor)
    user_ids = [survivor] + [v for k, v in ids if k == "user_id"]
    anonymous = [v for k, v in ids if k == "anonymous_id"]
    con = warehouse.ibis()
    try:
        orders = queries.recent_orders(con, user_ids, limit).to_pyarrow().to_pylist()
        events = queries.recent_events(con, user_ids, anonymous, limit).to_pyarrow().to_pylist()
        totals = queries.order_totals(con, user_ids).to_pyarrow().to_pylist()[0]
    finally:
        con.disconnect()  # closes this call's cursor only, not the warehouse
    totals["paid_fen"] = int(totals["paid_fen"] or 0)
    return Customer360(
        profile=profile,
        contact_points=contact_points(session, survivor),
        consents=consents(session, survivor),
        identities=[{"kind": k, "value": v} for k, v in ids],
        merges=merges(session, survivor),
        totals=OrderTotals.model_validate(totals),
        recent_orders=[OrderRead.model_validate(o) for o in orders],
        recent_events=[EventRead.model_validate(e) for e in events],
    )


# Warehouse expressions other domains build on (Ibis tables, not run here).
people = queries.people
resolved_events = queries.resolved_events
paid_orders = queries.paid_orders
