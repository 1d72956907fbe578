"""Who can be reached on which channel: contact points and consent, copied to the warehouse
so segments can ask "reachable by SMS" in the same query as everything else."""

from __future__ import annotations

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
