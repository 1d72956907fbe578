"""Operations of analytics: the reports (retention, funnel, AARRR, channels, magic number)."""

from __future__ import annotations

from typing import Any

from userops.analytics import service as analytics
from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import operation
from userops.ledger import unit_of_work
from userops.segments import service as segments


def _tz(hub: Hub) -> str:
    return hub.settings.timezone


@operation("analytics.retention")
def retention(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    query = analytics.parse(analytics.RetentionQuery, params)
    with unit_of_work(hub.engine) as session:
        members = segments.members_builder(session, query.segment, timezone=_tz(hub))
        result = analytics.retention(hub.warehouse, timezone=_tz(hub), query=query, members=members)
    return result.model_dump(mode="json", exclude_none=False)


def _funnel_query(params: dict[str, Any]) -> analytics.FunnelQuery:
    params = dict(params)
    steps = params.pop("steps", None) or []
    if not isinstance(steps, list):
        raise InvalidInput("steps must be a list of step texts", field="step")
    window = params.pop("window", None)
    params.pop("dropped_at", None)
    params.pop("limit", None)
    params.pop("save_segment", None)
    query = {
        **params,
        "steps": [analytics.parse_step(str(s)) for s in steps],
    }
    if window is not None:
        query["window_seconds"] = analytics.parse_window(str(window))
    return analytics.parse(analytics.FunnelQuery, query)


@operation("analytics.funnel")
def funnel(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    if params.get("save_segment") and not params.get("dropped_at"):
        raise InvalidInput("--save-segment needs --dropped-at N", field="save_segment")
    query = _funnel_query(params)
    result = analytics.funnel(hub.warehouse, timezone=_tz(hub), query=query).model_dump(mode="json")
    if params.get("dropped_at"):
        result["dropped_people"] = analytics.funnel_dropped(
            hub.warehouse,
            timezone=_tz(hub),
            query=query,
            step=int(params["dropped_at"]),
            limit=int(params.get("limit") or (1_000_000 if params.get("save_segment") else 10_000)),
        )
        if params.get("save_segment"):
            with unit_of_work(hub.engine) as session:
                saved = segments.save_list(
                    session,
                    hub.warehouse,
                    name=str(params["save_segment"]),
                    customer_ids=result["dropped_people"],
                    description=f"dropped at step {params['dropped_at']} of a funnel",
                )
                result["saved_segment"] = {
                    "name": saved.name,
                    "count": segments.preview(session, hub.warehouse, saved.rule).count,
                }
    return result


@operation("analytics.aarrr")
def aarrr(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    query = analytics.parse(analytics.AarrrQuery, params)
    return analytics.aarrr(hub.warehouse, timezone=_tz(hub), query=query).model_dump(mode="json")


@operation("analytics.channels")
def channels(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    query = analytics.parse(analytics.ChannelsQuery, params)
    return analytics.channels(hub.warehouse, timezone=_tz(hub), query=query).model_dump(mode="json")


@operation("analytics.magic_number")
def magic_number(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    query = analytics.parse(analytics.MagicQuery, params)
    return analytics.magic_number(hub.warehouse, timezone=_tz(hub), query=query).model_dump(
        mode="json"
    )
