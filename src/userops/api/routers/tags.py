"""Tags and segments over HTTP. Reads need a read key; changes need an admin key."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from userops.api.deps import AUTH_ERRORS, ActorDep, HubDep, ReadKey, SessionDep, need
from userops.api.errors import responses
from userops.audit import service as audit
from userops.auth.roles import Permission
from userops.auth.schemas import KeyRead
from userops.core.errors import NotFound
from userops.segments import service as segments
from userops.segments.schemas import Preview, SegmentRead, SizePoint
from userops.tags import service as tags
from userops.tags import workflow
from userops.tags.rules import COUNTED_FAMILIES, TagSettings
from userops.tags.schemas import CustomerTags, Transition
from userops.tags.workflow import CustomerSystemRefresh, RefreshRequest

router = APIRouter(prefix="/api/v1", tags=["customer-system"], responses=AUTH_ERRORS)
RefreshKey = Annotated[KeyRead, need(Permission.TAGS_REFRESH)]
ManualKey = Annotated[KeyRead, need(Permission.TAGS_MANUAL)]
SegmentsKey = Annotated[KeyRead, need(Permission.SEGMENTS_WRITE)]


@router.get("/tags/counts")
def tag_counts(hub: HubDep, _key: ReadKey) -> dict[str, Any]:
    return {"last_refresh": tags.last_refresh(hub.warehouse), "counts": tags.counts(hub.warehouse)}


@router.post("/tags/refresh", response_model=CustomerSystemRefresh, responses=responses(400))
def refresh_tags(
    hub: HubDep,
    _key: RefreshKey,
    actor: ActorDep,
    as_of: Annotated[
        date | None,
        Query(
            description="Compute as of midnight of this shop-local day (default: now). A day "
            "more than 24 hours from now is refused unless backfill=true; a future one always."
        ),
    ] = None,
    backfill: Annotated[
        bool, Query(description="Replace the current tags with those of a past as_of day")
    ] = False,
) -> CustomerSystemRefresh:
    """Mirror reachability, recompute every tag, record every saved segment (one workflow)."""
    result = workflow.refresh_customer_system(
        hub.engine,
        hub.warehouse,
        tag_settings=TagSettings.load(hub.settings.resolved_data_dir),
        tz=hub.settings.tz,
        request=RefreshRequest(as_of=as_of, backfill=backfill),
    )
    audit.record_now(
        hub.engine,
        actor,
        "tags.refresh",
        after={"as_of": as_of, "backfill": backfill, "result": result.model_dump(mode="json")},
    )
    return result


@router.get("/tags/transitions", response_model=Transition, responses=responses(400))
def tag_transitions(
    hub: HubDep,
    _key: ReadKey,
    family: Annotated[
        Literal[COUNTED_FAMILIES], Query(description="A family kept in the snapshots")
    ] = "lifecycle",
) -> Transition:
    return tags.transitions(hub.warehouse, family)


@router.get("/customers/{customer_id}/tags", response_model=CustomerTags, responses=responses(404))
def customer_tags(customer_id: str, hub: HubDep, _key: ReadKey) -> CustomerTags:
    return tags.show(hub.warehouse, customer_id)


@router.post("/tags/manual/{tag}", responses=responses(400, 404))
def add_manual_tag(
    tag: str,
    hub: HubDep,
    _key: ManualKey,
    actor: ActorDep,
    customer_ids: Annotated[list[str], Body(embed=True, min_length=1, max_length=100_000)],
) -> dict[str, Any]:
    added = tags.add_manual(hub.warehouse, customer_ids, tag, source="api")
    audit.record_now(
        hub.engine,
        actor,
        "tags.manual_add",
        target=tag,
        after={"customers": len(customer_ids), "added": added, "ids": customer_ids[:100]},
    )
    return {"tag": tag, "added": added}


@router.delete("/tags/manual/{tag}", responses=responses(400))
def remove_manual_tag(
    tag: str,
    hub: HubDep,
    _key: ManualKey,
    actor: ActorDep,
    customer_ids: Annotated[list[str], Body(embed=True, min_length=1, max_length=100_000)],
) -> dict[str, Any]:
    removed = tags.remove_manual(hub.warehouse, customer_ids, tag)
    audit.record_now(
        hub.engine,
        actor,
        "tags.manual_remove",
        target=tag,
        after={"customers": len(customer_ids), "removed": removed, "ids": customer_ids[:100]},
    )
    return {"tag": tag, "removed": removed}


@router.get("/segments", response_model=list[SegmentRead])
def list_segments(session: SessionDep, _key: ReadKey) -> list[SegmentRead]:
    return segments.list_all(session)


@router.post("/segments/preview", response_model=Preview, responses=responses(400, 404))
def preview_rule(
    hub: HubDep,
    session: SessionDep,
    _key: ReadKey,
    rule: Annotated[dict[str, Any], Body(embed=True)],
) -> Preview:
    return segments.preview(session, hub.warehouse, rule)


@router.put("/segments/{name}", response_model=SegmentRead, responses=responses(400, 404))
def save_segment(
    name: str,
    hub: HubDep,
    session: SessionDep,
    _key: SegmentsKey,
    actor: ActorDep,
    rule: Annotated[dict[str, Any], Body(embed=True)],
    description: Annotated[str | None, Body(embed=True)] = None,
) -> SegmentRead:
    try:
        before: dict[str, Any] | None = segments.get(session, name).model_dump(
            mode="json", include={"rule", "description"}
        )
    except NotFound:
        before = None
    saved = segments.create(
        session, hub.warehouse, name=name, rule=rule, description=description, replace=True
    )
    after = saved.model_dump(mode="json", include={"rule", "description"})
    action = "segment.create" if before is None else "segment.update"
    audit.record(session, actor, action, target=name, before=before, after=after)
    return saved


@router.get("/segments/{name}", response_model=SegmentRead, responses=responses(404))
def get_segment(name: str, session: SessionDep, _key: ReadKey) -> SegmentRead:
    return segments.get(session, name)


@router.get("/segments/{name}/preview", response_model=Preview, responses=responses(400, 404))
def preview_segment(name: str, hub: HubDep, session: SessionDep, _key: ReadKey) -> Preview:
    return segments.preview(session, hub.warehouse, segments.get(session, name).rule)


@router.get("/segments/{name}/history", response_model=list[SizePoint], responses=responses(404))
def segment_history(name: str, hub: HubDep, session: SessionDep, _key: ReadKey) -> list[SizePoint]:
    segments.get(session, name)
    return segments.history(hub.warehouse, name)


@router.delete("/segments/{name}", responses=responses(404))
def delete_segment(
    name: str, hub: HubDep, session: SessionDep, _key: SegmentsKey, actor: ActorDep
) -> dict[str, str]:
    before = segments.get(session, name).model_dump(mode="json", include={"rule", "description"})
    segments.delete(session, hub.warehouse, name)
    audit.record(session, actor, "segment.delete", target=name, before=before)
    return {"deleted": name}
