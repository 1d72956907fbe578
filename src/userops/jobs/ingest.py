"""Operations of the data hub: imports and counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from userops.hub import Hub
from userops.ingest import cdnow
from userops.ingest import service as ingest
from userops.ingest.service import Progress
from userops.jobs.registry import operation

_JSON_KEYS = {"order-items": "order_items"}


@operation("import")
def import_file(hub: Hub, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    entity = str(params["entity"])
    common = {
        "engine": hub.engine,
        "warehouse": hub.warehouse,
        "rejects_dir": hub.settings.rejects_dir,
        "progress": progress,
        "batch_rows": hub.settings.import_batch_rows,
    }
    if entity == "cdnow":
        results = cdnow.import_cdnow(
            path=Path(params["path"]), encoding=params.get("encoding"), **common
        )
        return {name: summary.public() for name, summary in results.items()}
    summary = ingest.import_file(
        entity=entity,
        path=Path(params["path"]),
        fmt=params.get("format"),
        mapping=dict(params.get("mapping") or {}),
        encoding=params.get("encoding"),
        **common,
    )
    return {_JSON_KEYS.get(entity, entity): summary.public()}


@operation("stats")
def stats(hub: Hub, _params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    return dict(hub.stats())
