"""Operations on saved segments (they read the warehouse, so they may run in the server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import operation
from userops.ledger import unit_of_work
from userops.segments import service as segments


@operation("segment.create")
def create(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    with unit_of_work(hub.engine) as session:
        saved = segments.create(
            session,
            hub.warehouse,
            name=str(params["name"]),
            rule=params["rule"],
            description=params.get("description"),
            replace=bool(params.get("replace")),
        )
        preview = segments.preview(session, hub.warehouse, saved.rule)
    return {**saved.model_dump(mode="json"), "count": preview.count}


@operation("segment.list")
def list_(hub: Hub, _params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    with unit_of_work(hub.engine) as session:
        saved = segments.list_all(session)
    return {"segments": [s.model_dump(mode="json") for s in saved]}


@operation("segment.show")
def show(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    name = str(params["name"])
    with unit_of_work(hub.engine) as session:
        saved = segments.get(session, name)
    sizes = segments.history(hub.warehouse, name)
    return {**saved.model_dump(mode="json"), "history": [p.model_dump(mode="json") for p in sizes]}


@operation("segment.preview")
def preview(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    with unit_of_work(hub.engine) as session:
        rule = params.get("rule")
        if rule is None:
            rule = segments.get(session, str(params["name"])).rule
        return segments.preview(
            session, hub.warehouse, rule, sample=int(params.get("sample", 10))
        ).model_dump()


@operation("segment.export")
def export(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    out = Path(str(params["out"]))
    with unit_of_work(hub.engine) as session:
        rows = segments.export(session, hub.warehouse, str(params["name"]), out)
    return {"segment": params["name"], "rows": rows, "file": str(out)}


@operation("segment.delete")
def delete(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    with unit_of_work(hub.engine) as session:
        segments.delete(session, hub.warehouse, str(params["name"]))
    return {"deleted": params["name"]}
