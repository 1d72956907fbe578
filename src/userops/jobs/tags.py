"""Operations of the customer system: refresh (tags, then every saved segment), read, manual."""

from __future__ import annotations

from typing import Any

from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import operation
from userops.tags import service as tags
from userops.tags import workflow
from userops.tags.rules import TagSettings
from userops.tags.workflow import RefreshRequest


@operation("tags.refresh")
def refresh(hub: Hub, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """``{"as_of": "YYYY-MM-DD" | null, "backfill": bool}`` → the refresh with segment sizes."""
    request = RefreshRequest(
        as_of=workflow.parse_day(params.get("as_of")), backfill=bool(params.get("backfill"))
    )
    return workflow.refresh_customer_system(
        hub.engine,
        hub.warehouse,
        tag_settings=TagSettings.load(hub.settings.resolved_data_dir),
        tz=hub.settings.tz,
        request=request,
        progress=progress,
    ).model_dump(mode="json")


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
