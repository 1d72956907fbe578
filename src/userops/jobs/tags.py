"""Operations of the customer system: refresh (tags, then every saved segment), read, manual."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from userops.core.clock import local_midnight_utc, utcnow
from userops.core.errors import InvalidInput
from userops.customers.reach import mirror_reach
from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import operation
from userops.ledger import unit_of_work
from userops.segments import service as segments
from userops.tags import service as tags
from userops.tags.rules import TagSettings


def as_of_instant(hub: Hub, value: str | None) -> datetime:
    """``--as-of 1998-07-01`` is midnight of that day in the shop timezone; default: now."""
    if not value:
        return utcnow()
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"--as-of needs a date YYYY-MM-DD, got {value!r}", field="as_of"
        ) from exc
    return local_midnight_utc(day, hub.settings.tz)


@operation("tags.refresh")
def refresh(hub: Hub, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    as_of = as_of_instant(hub, params.get("as_of"))
    progress("contacts", 0, 1)
    with unit_of_work(hub.engine) as session:
        mirror_reach(session, hub.warehouse)
    progress("contacts", 1, 1)
    progress("tags", 0, 1)
    result = tags.refresh(
        hub.warehouse, as_of=as_of, settings=TagSettings.load(hub.settings.resolved_data_dir)
    )
    progress("tags", 1, 1)
    with unit_of_work(hub.engine) as session:
        sizes = segments.record_all(session, hub.warehouse, as_of=as_of, progress=progress)
    out = result.model_dump(mode="json")
    out["segments"] = sizes
    return out


@operation("tags.show")
def show(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    return tags.show(hub.warehouse, str(params["customer_id"])).model_dump(mode="json")


@operation("tags.transitions")
def transitions(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    family = str(params.get("family") or "lifecycle")
    return tags.transitions(hub.warehouse, family).model_dump(mode="json")


@operation("tags.manual")
def manual(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    ids = [str(i) for i in params["customer_ids"]]
    tag = str(params["tag"])
    if params.get("remove"):
        return {"tag": tag, "removed": tags.remove_manual(hub.warehouse, ids, tag)}
    return {
        "tag": tag,
        "added": tags.add_manual(
            hub.warehouse, ids, tag, source=str(params.get("source") or "cli")
        ),
    }
