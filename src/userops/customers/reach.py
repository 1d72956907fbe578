"""Who can be reached on which channel: contact points and consent, copied to the warehouse
so segments can ask "reachable by SMS" in the same query as everything else."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from userops.customers.models import Consent, ContactPoint
from userops.customers.schemas import CONSENT_CHANNELS
from userops.warehouse import Warehouse


def mirror_reach(session: Session, warehouse: Warehouse) -> int:
    """Rebuild ``customer_reach``: one row per (customer, channel) with a contact point or a
    recorded consent. Returns the rows written."""
    kind_to_channel = {kind: channel for channel, kind in CONSENT_CHANNELS.items()}
    contacts = session.execute(
        sa.select(ContactPoint.customer_id, ContactPoint.kind).where(
            ContactPoint.kind.in_(list(kind_to_channel))
        )
    ).all()
    consents = session.execute(
        sa.select(Consent.customer_id, Consent.channel, Consent.status)
    ).all()
    contact_table = pa.table(
        {
            "customer_id": pa.array([r[0] for r in contacts], pa.string()),
            "channel": pa.array([kind_to_channel[r[1]] for r in contacts], pa.string()),
        }
    )
    consent_table = pa.table(
        {
            "customer_id": pa.array([r[0] for r in consents], pa.string()),
            "channel": pa.array([r[1] for r in consents], pa.string()),
            "status": pa.array([r[2] for r in consents], pa.string()),
        }
    )
    with warehouse.write() as cur:
        cur.register("_contacts", contact_table)
        cur.register("_consents", consent_table)
        cur.execute("DELETE FROM customer_reach")
        cur.execute(
            "INSERT INTO customer_reach SELECT customer_id, channel, k.customer_id IS NOT NULL, "
            "c.status FROM (SELECT DISTINCT customer_id, channel FROM _contacts) k FULL JOIN "
            "_consents c USING (customer_id, channel)"
        )
        written = cur.execute("SELECT count(*) FROM customer_reach").fetchall()[0][0]
        cur.unregister("_contacts")
        cur.unregister("_consents")
    return int(written)


def mirror_reach_for(session: Session, warehouse: Warehouse, customer_ids: Sequence[str]) -> None:
    """Refresh ``customer_reach`` for these customers only, right after their contact points or
    consent changed, so that a segment's ``reachable`` condition sees a withdrawal at once (not
    at the next tags refresh)."""
    ids = list(dict.fromkeys(customer_ids))
    kind_to_channel = {kind: channel for channel, kind in CONSENT_CHANNELS.items()}
    for start in range(0, len(ids), 2000):
        part = ids[start : start + 2000]
        contacts = session.execute(
            sa.select(ContactPoint.customer_id, ContactPoint.kind).where(
                ContactPoint.customer_id.in_(part), ContactPoint.kind.in_(list(kind_to_channel))
            )
        ).all()
        consents = session.execute(
            sa.select(Consent.customer_id, Consent.channel, Consent.status).where(
                Consent.customer_id.in_(part)
            )
        ).all()
        reach: dict[tuple[str, str], list[object]] = {}
        for customer_id, kind in contacts:
            reach[(customer_id, kind_to_channel[kind])] = [True, None]
        for customer_id, channel, status in consents:
            reach.setdefault((customer_id, channel), [False, None])[1] = status
        table = pa.table(
            {
                "customer_id": pa.array([k[0] for k in reach], pa.string()),
                "channel": pa.array([k[1] for k in reach], pa.string()),
                "has_contact": pa.array([v[0] for v in reach.values()], pa.bool_()),
                "consent": pa.array([v[1] for v in reach.values()], pa.string()),
            }
        )
        gone = pa.table({"customer_id": pa.array(part, pa.string())})
        with warehouse.write() as cur:
            cur.register("_gone", gone)
            cur.register("_reach", table)
            cur.execute(
                "DELETE FROM customer_reach WHERE customer_id IN (SELECT customer_id FROM _gone)"
            )
            cur.execute(
                "INSERT INTO customer_reach SELECT customer_id, channel, has_contact, consent "
                "FROM _reach"
            )
            cur.unregister("_gone")
            cur.unregister("_reach")
