"""Reports over the warehouse: retention, funnel, AARRR, channels and ROI, the magic number.

Query parameters are those of the matching ``userops report`` command (snake_case), e.g.
``GET /api/v1/analytics/retention?period=week&intervals=13&start_event=signup``;
``GET /api/v1/analytics/funnel?step=product_view&step=order&window=7d``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from userops.analytics import service as analytics
from userops.api.deps import HubDep, ReadKey, SessionDep
from userops.core.errors import InvalidInput
from userops.segments import service as segments

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


def _params(request: Request, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values if key in lists else values[-1]
    return params


@router.get("/retention")
def retention(
    request: Request, hub: HubDep, session: SessionDep, _key: ReadKey
) -> dict[str, Any]:
    query = analytics.parse(analytics.RetentionQuery, _params(request))
    return analytics.retention(
        hub.warehouse,
        timezone=hub.settings.timezone,
        query=query,
        members=segments.members_builder(
            session, query.segment, timezone=hub.settings.timezone
        ),
    ).model_dump(mode="json")


@router.get("/funnel")
def funnel(request: Request, hub: HubDep, _key: ReadKey) -> dict[str, Any]:
    params = _params(request, lists=("step",))
    steps = [analytics.parse_step(s) for s in params.pop("step", [])]
    window = params.pop("window", None)
    dropped_at = params.pop("dropped_at", None)
    query = analytics.parse(
        analytics.FunnelQuery,
        {
            **params,
            "steps": steps,
            **({"window_seconds": analytics.parse_window(window)} if window else {}),
        },
    )
    result = analytics.funnel(
        hub.warehouse, timezone=hub.settings.timezone, query=query
    ).model_dump(mode="json")
    if dropped_at is not None:
        try:
            step = int(dropped_at)
        except ValueError as exc:
            raise InvalidInput("dropped_at must be a step number", field="dropped_at") from exc
        result["dropped_people"] = analytics.funnel_dropped(
            hub.warehouse, timezone=hub.settings.timezone, query=query, step=step
        )
    return result


@router.get("/aarrr")
def aarrr(request: Request, hub: HubDep, _key: ReadKey) -> dict[str, Any]:
    query = analytics.parse(analytics.AarrrQuery, _params(request))
    return analytics.aarrr(hub.warehouse, timezone=hub.settings.timezone, query=query).model_dump(
        mode="json"
    )


@router.get("/channels")
def channels(request: Request, hub: HubDep, _key: ReadKey) -> dict[str, Any]:
    query = analytics.parse(analytics.ChannelsQuery, _params(request))
    return analytics.channels(
        hub.warehouse, timezone=hub.settings.timezone, query=query
    ).model_dump(mode="json")


@router.get("/magic-number")
def magic_number(request: Request, hub: HubDep, _key: ReadKey) -> dict[str, Any]:
    query = analytics.parse(analytics.MagicQuery, _params(request))
    return analytics.magic_number(
        hub.warehouse, timezone=hub.settings.timezone, query=query
    ).model_dump(mode="json")
