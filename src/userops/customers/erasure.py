"""Erasure of one person everywhere (PIPL art. 47, GDPR art. 17): the workflow, owned here.

1. Gather the person: the customer, every customer merged into it, their identities (user ids,
   anonymous ids, aliases), merges and contact points.
2. Suppress: keyed hashes of every id and contact point go to ``suppressions`` and are
   committed first, so the tracking loader and the importers refuse the person from now on.
3. Warehouse, in one transaction, through each owning domain: events and orders (ingest), tags
   (tags), segment membership (segments), scores (predict), recommendations (recommend), and the
   customers mirrors (this package). Then the tables that lost rows are scrubbed from the file.
4. Files: rows of rejects files, lines of unloaded and set-aside journal segments, and the
   live debugger's ring (through the server's tracker when one runs).
5. Ledger, in one transaction: profile, contact points, consent and its history, identities,
   merges into or from them; other customers' ``referrer_id`` pointing at them is cleared; an
   audit row records who, when, the hash of the id and the counts. SQLite runs with
   ``secure_delete`` (freed pages are zeroed) and the WAL is checkpointed.

A crash between steps leaves the ledger profile in place, so running the erasure again
finishes it (every step is idempotent). See docs/privacy.md and docs/decisions/0010-erasure.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from userops.core.clock import utcnow
from userops.core.errors import InvalidInput, NotFound
from userops.customers import suppression
from userops.customers.models import (
    Consent,
    ConsentEvent,
    ContactPoint,
    Customer,
    Erasure,
    Identity,
    Merge,
)
from userops.customers.suppression import normalise
from userops.ledger import unit_of_work
from userops.warehouse import Warehouse
from userops.warehouse.tables import TABLES


class JournalEraser(Protocol):
    """The running server's tracker (``Tracker.erase``)."""

    def erase(self, mentions: Callable[[str], bool]) -> dict[str, int]: ...


@dataclass
class Person:
    customer_ids: list[str]
    ids: list[str]
    """Every id the person was known by: customer ids, user ids, anonymous ids, aliases."""
    contacts: list[tuple[str, str]]
    referred: list[str] = field(default_factory=list)
    """Other customers whose ``referrer_id`` names the person."""


def gather(session: Session, customer_id: str) -> Person:
    from userops.customers.service import resolve

    survivor = resolve(session, user_id=customer_id, anonymous_id=None) or customer_id
    if session.get(Customer, survivor) is None:
        raise NotFound(f"no customer {customer_id!r}", field="customer_id")
    customer_ids = [survivor]
    frontier = [survivor]
    while frontier:  # customers merged into the person (alias chains)
        found = session.execute(
            sa.select(Customer.customer_id).where(Customer.merged_into.in_(frontier))
        ).scalars()
        frontier = [c for c in found if c not in customer_ids]
        customer_ids += frontier
    ids = list(customer_ids)
    ids += session.execute(
        sa.select(Identity.value).where(Identity.customer_id.in_(customer_ids))
    ).scalars()
    ids += session.execute(
        sa.select(Merge.from_value).where(Merge.into_customer_id.in_(customer_ids))
    ).scalars()
    contacts = [
        (kind, value)
        for kind, value in session.execute(
            sa.select(ContactPoint.kind, ContactPoint.value).where(
                ContactPoint.customer_id.in_(customer_ids)
            )
        ).all()
    ]
    referred = list(
        session.execute(
            sa.select(Customer.customer_id).where(
                Customer.referrer_id.in_(customer_ids), Customer.customer_id.notin_(customer_ids)
            )
        ).scalars()
    )
    return Person(list(dict.fromkeys(customer_ids)), list(dict.fromkeys(ids)), contacts, referred)


def mentions_of(person: Person) -> Callable[[str], bool]:
    """A test for text (a CSV field, a JSON line): does it name the person? A field names them
    when it equals one of their ids or contact points; JSON is searched value by value, so
    ``"c1"`` matches ``{"userId": "c1"}`` but not ``c10``."""
    ids = set(person.ids)
    contacts = {normalise(kind, value) for kind, value in person.contacts}
    contacts |= {value.strip() for _, value in person.contacts}

    def names(value: Any) -> bool:
        if isinstance(value, dict):
            return any(names(k) or names(v) for k, v in value.items())
        if isinstance(value, list):
            return any(names(v) for v in value)
        if isinstance(value, bool) or value is None:
            return False
        text = str(value).strip()
        return (
            text in ids
            or text in contacts
            or text.lower() in contacts
            or normalise("phone", text) in contacts
        )

    def mentions(text: str) -> bool:
        text = text.strip()
        if not text:
            return False
        if names(text):
            return True
        if text[0] in "{[":
            try:
                return names(json.loads(text))
            except ValueError:
                pass
        return False

    return mentions


def erase(
    *,
    engine: Engine,
    warehouse: Warehouse,
    data_dir: Path,
    customer_id: str,
    requested_by: str,
    erasure_key: str | None = None,
    tracker: JournalEraser | None = None,
) -> dict[str, Any]:
    """Erase the person ``customer_id`` names (any of their ids) from every store; returns
    the counts removed (no personal data: safe to log and to answer with)."""
    if not customer_id or not customer_id.strip():
        raise InvalidInput("customer_id is required", field="customer_id")
    if not requested_by:
        raise InvalidInput("requested_by is required (who asks for the erasure)", field="by")
    now = utcnow()
    key = suppression.load_key(data_dir, erasure_key, create=True)
    assert key is not None
    with unit_of_work(engine) as session:
        person = gather(session, customer_id)
        subject = suppression.digest(key, suppression.ID, person.customer_ids[0])
        suppression.record(
            session, key, [(suppression.ID, i) for i in person.ids] + person.contacts, at=now
        )
    removed: dict[str, Any] = {"people": len(person.customer_ids)}
    removed.update(_erase_warehouse(warehouse, person))
    mentions = mentions_of(person)
    from userops.ingest import erasure as ingest_erasure

    removed["rejects_rows"] = ingest_erasure.scrub_rejects(data_dir / "rejects", mentions)
    if tracker is not None:
        removed.update(tracker.erase(mentions))
    else:
        journal = data_dir / "tracking" / "journal"
        removed["journal_lines"] = ingest_erasure.scrub_journal(journal, mentions, sealed=None)
    removed.update(_erase_ledger(engine, person, subject, requested_by, now, removed))
    _mirror_after(engine, warehouse, person)
    return {"erased": True, "subject": subject, "erased_at": now.isoformat(), "removed": removed}


def _erase_warehouse(warehouse: Warehouse, person: Person) -> dict[str, int]:
    from userops.ingest import erasure as ingest_erasure
    from userops.predict import service as predict
    from userops.recommend import service as recommend
    from userops.segments import service as segments
    from userops.tags import service as tags

    removed: dict[str, int] = {}
    with warehouse.write() as cur:
        removed.update(ingest_erasure.erase_customer(cur, person.customer_ids, person.ids))
        removed.update(tags.erase_customer(cur, person.customer_ids))
        removed.update(segments.erase_customer(cur, person.customer_ids))
        removed.update(predict.erase_customer(cur, person.customer_ids))
        removed.update(recommend.erase_customer(cur, warehouse, person.customer_ids))
        removed.update(_erase_mirrors(cur, person))
    recommend.forget_index(warehouse)
    # Every table, not only those that lost rows now: older versions of the person's rows
    # (a profile mirrored again, last refresh's tags) linger as deleted rows too.
    warehouse.scrub(TABLES)
    return removed


def _erase_mirrors(cur: Any, person: Person) -> dict[str, int]:
    """This package's warehouse mirrors: profiles, identities, reach."""
    cur.register("_erased", pa.table({"v": pa.array(person.ids, pa.string())}))
    try:
        return {
            "customers": int(
                cur.execute(
                    "DELETE FROM customers WHERE customer_id IN (SELECT v FROM _erased)"
                ).fetchall()[0][0]
            ),
            "identities": int(
                cur.execute(
                    "DELETE FROM identities WHERE value IN (SELECT v FROM _erased) OR customer_id "
                    "IN (SELECT v FROM _erased)"
                ).fetchall()[0][0]
            ),
            "customer_reach": int(
                cur.execute(
                    "DELETE FROM customer_reach WHERE customer_id IN (SELECT v FROM _erased)"
                ).fetchall()[0][0]
            ),
        }
    finally:
        cur.unregister("_erased")


def _erase_ledger(
    engine: Engine,
    person: Person,
    subject: str,
    requested_by: str,
    now: datetime,
    removed: dict[str, Any],
) -> dict[str, int]:
    ids, customers = person.ids, person.customer_ids
    counts: dict[str, int] = {}
    with unit_of_work(engine) as session:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(sa.text("PRAGMA secure_delete = ON"))
        statements = {
            "consent_events": sa.delete(ConsentEvent).where(
                ConsentEvent.customer_id.in_(customers)
            ),
            "consents": sa.delete(Consent).where(Consent.customer_id.in_(customers)),
            "contact_points": sa.delete(ContactPoint).where(
                ContactPoint.customer_id.in_(customers)
            ),
            "ledger_identities": sa.delete(Identity).where(
                sa.or_(Identity.customer_id.in_(customers), Identity.value.in_(ids))
            ),
            "merges": sa.delete(Merge).where(
                sa.or_(Merge.into_customer_id.in_(customers), Merge.from_value.in_(ids))
            ),
        }
        for name, statement in statements.items():
            counts[name] = session.execute(statement).rowcount
        if person.referred:
            session.execute(
                sa.update(Customer)
                .where(Customer.customer_id.in_(person.referred))
                .values(referrer_id=None, updated_at=now)
            )
        counts["profiles"] = session.execute(
            sa.delete(Customer).where(Customer.customer_id.in_(customers))
        ).rowcount
        session.add(
            Erasure(
                subject_digest=subject,
                requested_by=requested_by[:200],
                erased_at=now,
                removed={**removed, **counts},
            )
        )
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts


def _mirror_after(engine: Engine, warehouse: Warehouse, person: Person) -> None:
    """Customers the person referred lost their ``referrer_id``: mirror them."""
    if not person.referred:
        return
    from userops.customers.service import mirror

    with unit_of_work(engine) as session:
        mirror(session, warehouse, person.referred)


def audit(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest erasures: who, when, the hashed id and the counts."""
    rows = session.execute(
        sa.select(Erasure).order_by(Erasure.erased_at.desc(), Erasure.id.desc()).limit(limit)
    ).scalars()
    return [
        {
            "subject": r.subject_digest,
            "requested_by": r.requested_by,
            "erased_at": r.erased_at.isoformat(),
            "removed": r.removed,
        }
        for r in rows
    ]
