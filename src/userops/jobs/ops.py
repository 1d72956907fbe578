"""The operations a CLI command can hand to the running server. Each one is a plain function of
(hub, params, progress) that returns JSON-ready data, so it runs the same locally or remotely."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest import cdnow
from userops.ingest import service as ingest
from userops.ingest.service import Progress

Operation = Callable[[Hub, dict[str, Any], Progress], dict[str, Any]]

_JSON_KEYS = {"order-items": "order_items"}


def _import(hub: Hub, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    entity = str(params["entity"])
    common = {
        "engine": hub.engine,
        "warehouse": hub.warehouse,
        "rejects_dir": hub.settings.rejects_dir,
        "progress": progress,
    }
    if entity == "cdnow":
        results = cdnow.import_cdnow(path=Path(params["path"]), **common)
        return {name: summary.public() for name, summary in results.items()}
    summary = ingest.import_file(
        entity=entity,
        path=Path(params["path"]),
        fmt=params.get("format"),
        mapping=dict(params.get("mapping") or {}),
        **common,
    )
    return {_JSON_KEYS.get(entity, entity): summary.public()}


def _stats(hub: Hub, _params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    return dict(hub.stats())


OPERATIONS: dict[str, Operation] = {"import": _import, "stats": _stats}


def run(hub: Hub, name: str, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    operation = OPERATIONS.get(name)
    if operation is None:
        raise InvalidInput(
            f"unknown operation {name!r}; known: {', '.join(OPERATIONS)}", field="operation"
        )
    return operation(hub, params, progress)
