"""Reports over the warehouse: retention, funnel, AARRR, channels and ROI, the magic number.

Query parameters are those of the matching ``userops report`` command (snake_case), e.g.
``GET /api/v1/analytics/retention?period=week&intervals=13&start_event=signup&min_occurrences=2``;
``GET /api/v1/analytics/funnel?step=product_view&step=order&window=7d&entry=any``. Results flag
periods that are not over (``partial``) and say what each figure measures (docs/analytics.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from userops.analytics import service as analytics
from userops.analytics.funnel import MAX_STEPS
from userops.api.deps import AUTH_ERRORS, HubDep, ReadKey, SessionDep
from userops.api.errors import responses
from userops.core.errors import InvalidInput
from userops.segments import service as segments

router = APIRouter(
    prefix="/api/v1/analytics", tags=["analytics"], responses={**AUTH_ERRORS, **responses(400)}
)


def _query(
    model: type[BaseModel], *, skip: tuple[str, ...] = (), extra: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    """The report's query parameters for ``/openapi.json``, read from its query model (the
    handlers read ``request.query_params`` loosely, so FastAPI cannot see them). Values are
    checked by the analytics domain; an unknown parameter is refused."""
    properties = model.model_json_schema().get("properties", {})
    params = [
        {
            "name": name,
            "in": "query",
            "required": field.is_required(),
            "schema": {k: v for k, v in properties.get(name, {}).items() if k != "title"},
            **({"description": field.description} if field.description else {}),
        }
        for name, field in model.model_fields.items()
        if name not in skip
    ]
    return {"parameters": [*params, *extra]}


FUNNEL_PARAMETERS = (
    {
        "name": "step",
        "in": "query",
        "required": True,
        "description": "A step, repeated in order: event or event:key=value,key2=value2",
        "schema": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^\s*[^:\s]"},
            "minItems": 2,
            "maxItems": MAX_STEPS,
        },
        "style": "form",
        "explode": True,
    },
    {
        "name": "window",
        "in": "query",
        "required": False,
        "description": "Conversion window: a number and a unit s, m, h, d or w (default, and "
        "when empty: 7d)",
        "schema": {"type": "string", "pattern": r"^$|^\s*[0-9]*[1-9][0-9]*\s*[smhdwSMHDW]\s*$"},
    },
    {
        "name": "dropped_at",
        "in": "query",
        "required": False,
        "description": "Also list the people who dropped off after this step number",
        "schema": {"type": "integer"},
    },
)


def _params(request: Request, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values if key in lists else values[-1]
    return params


@router.get("/retention", responses=responses(404), openapi_extra=_query(analytics.RetentionQuery))
def retention(request: Request, hub: HubDep, session: SessionDep, _key: ReadKey) -> dict[str, Any]:
    query = analytics.parse(analytics.RetentionQuery, _params(request))
    return analytics.retention(
        hub.warehouse,
        timezone=hub.settings.timezone,
        query=query,
        members=segments.members_builder(session, query.segment, timezone=hub.settings.timezone),
    ).model_dump(mode="json")


@router.get(
    "/funnel",
    openapi_extra=_query(
        analytics.FunnelQuery, skip=("steps", "window_seconds"), extra=FUNNEL_PARAMETERS
    ),
)
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


@router.get("/aarrr", openapi_extra=_query(analytics.AarrrQuery))
def aarrr(request: Request, hub: HubDep, _key: ReadKey) -> dict[str, Any]:
    query = analytics.parse(analytics.AarrrQuery, _params(request))
    return analytics.aarrr(hub.warehouse, timezone=hub.settings.timezone, query=query).model_dump(
        mode="json"
    )


@router.get("/channels", openapi_extra=_query(analytics.ChannelsQuery))
def channels(request: Request, hub: HubDep, _key: ReadKey) -> dict[str, Any]:
    query = analytics.parse(analytics.ChannelsQuery, _params(request))
    return analytics.channels(
        hub.warehouse, timezone=hub.settings.timezone, query=query
    ).model_dump(mode="json")


@router.get("/magic-number", openapi_extra=_query(analytics.MagicQuery))
def magic_number(request: Request, hub: HubDep, _key: ReadKey) -> dict[str, Any]:
    query = analytics.parse(analytics.MagicQuery, _params(request))
    return analytics.magic_number(
        hub.warehouse, timezone=hub.settings.timezone, query=query
    ).model_dump(mode="json")
