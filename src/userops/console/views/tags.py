"""The customer system page (客户体系): tag counts as charts, lifecycle transitions, the RFM
grid, the tag settings form, a "refresh now" button, and manual tags of one customer.

Everything it reads or writes goes through ``userops.tags.service``; "refresh now" runs the one
refresh workflow (``userops.tags.workflow``) that the ``tags.refresh`` job and the API also run.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from userops.audit import service as audit
from userops.auth.roles import Permission
from userops.console import i18n
from userops.console.security import actor, allow, csrf_ok, current_user
from userops.console.templating import Renderer, renderer
from userops.core.errors import UseropsError
from userops.customers.schemas import GENDERS
from userops.tags import service as tags
from userops.tags import workflow
from userops.tags.rules import (
    AGE_BANDS,
    AOV_TIERS,
    CITY_TIERS,
    FAMILIES,
    LIFECYCLE,
    ORDER_FREQUENCY,
    RFM_CN,
    RFM_SEGMENTS,
    VALUE,
    TagSettings,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])
RendererDep = Annotated[Renderer, Depends(renderer)]

# Family → (chart kind, value order or None for "by count", at most this many values shown).
CHARTS: dict[str, tuple[str, tuple[str, ...] | None, int]] = {
    "lifecycle": ("pie", LIFECYCLE, 0),
    "rfm_cn": ("bar", RFM_CN, 0),
    "rfm_segment": ("bar", RFM_SEGMENTS, 0),
    "aov_tier": ("pie", AOV_TIERS, 0),
    "order_frequency": ("bar", ORDER_FREQUENCY, 0),
    "value": ("pie", VALUE, 0),
    "age_band": ("bar", AGE_BANDS, 0),
    "gender": ("bar", GENDERS, 0),
    "province": ("bar", None, 15),
    "city_tier": ("bar", CITY_TIERS, 0),
    "birthday_month": ("bar", tuple(str(m) for m in range(1, 13)), 0),
    "interest": ("bar", None, 15),
}
LABELLED = {
    "lifecycle",
    "rfm_cn",
    "rfm_segment",
    "aov_tier",
    "order_frequency",
    "value",
    "gender",
    "city_tier",
    "birthday_month",
}
# RFM 8 classes laid out as M (important/general) x (R, F).
GRID_COLUMNS = ("value", "development", "retention", "winback")
GRID_ROWS = ("important", "general")
SETTINGS_FIELDS = tuple(TagSettings.model_fields)


def _lang(request: Request) -> str:
    return i18n.choose(request.session.get("lang"), request.headers.get("accept-language"))


def value_label(lang: str, family: str, value: str | None) -> str:
    """How a tag value reads in ``lang`` (raw data such as provinces stays as it is)."""
    if value is None:
        return i18n.translate(lang, "tags.transitions.none")
    if family in LABELLED:
        return i18n.translate(lang, f"tag.{family}.{value}", value)
    return value


def _chart(lang: str, family: str, values: dict[str, int]) -> dict[str, Any]:
    kind, order, top = CHARTS[family]
    if order is not None:
        known = [v for v in order if v in values]
        rest = sorted((v for v in values if v not in order), key=lambda v: (-values[v], v))
        names = known + rest
    else:
        names = sorted(values, key=lambda v: (-values[v], v))
    if top:
        names = names[:top]
    total = sum(values.values())
    return {
        "id": f"chart-tag-{family}",
        "family": family,
        "kind": kind,
        "total": total,
        "top": top,
        "items": [
            {"value": v, "label": value_label(lang, family, v), "customers": values[v]}
            for v in names
        ],
    }


def _transitions(lang: str) -> dict[str, str]:
    return {v: value_label(lang, "lifecycle", v) for v in LIFECYCLE}


def _grid(lang: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(r["customers"] for r in rows) or 1
    cells = {
        r["rfm_cn"]: {
            **r,
            "label": value_label(lang, "rfm_cn", r["rfm_cn"]),
            "share": r["customers"] / total,
        }
        for r in rows
    }
    return {
        "rows": [[cells[f"{m}_{k}"] for k in GRID_COLUMNS] for m in GRID_ROWS],
        "customers": sum(r["customers"] for r in rows),
        "revenue_fen": sum(r["revenue_fen"] for r in rows),
    }


def _settings_errors(lang: str, exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "form"
        kind = err["type"]
        if kind in {"int_parsing", "int_type", "int_from_float", "missing"}:
            text = i18n.translate(lang, "tags.settings.error.int")
        elif kind == "greater_than_equal":
            text = i18n.translate(lang, "tags.settings.error.min", min=err["ctx"]["ge"])
        elif kind == "literal_error":
            text = i18n.translate(lang, "tags.settings.error.choice")
        else:
            text = str(err["msg"])
        errors.setdefault(name, text)
    return errors


def _page(
    request: Request,
    console: Renderer,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    hub = request.app.state.hub
    lang = _lang(request)
    counts = tags.counts(hub.warehouse, FAMILIES)
    moves = tags.transitions(hub.warehouse, "lifecycle")
    transition_rows = [
        {
            **m,
            "from_label": value_label(lang, "lifecycle", m["from"]),
            "to_label": value_label(lang, "lifecycle", m["to"]),
        }
        for m in moves.moves
    ]
    if form is None:
        form = TagSettings.load(hub.settings.resolved_data_dir).model_dump()
    context = {
        "last": tags.last_refresh(hub.warehouse),
        "charts": [_chart(lang, f, counts.get(f, {})) for f in CHARTS],
        "moves": moves,
        "transition_rows": transition_rows,
        "transition_labels": _transitions(lang),
        "grid": _grid(lang, tags.rfm_grid(hub.warehouse)),
        "form": form,
        "errors": errors or {},
        "fields": SETTINGS_FIELDS,
        "flash": request.query_params.get("done", ""),
    }
    return console.page(request, "tags/index.html", context, status_code=status_code, active="tags")


@router.get("/tags", dependencies=[Depends(allow(Permission.READ))])
def tags_page(request: Request, console: RendererDep) -> Response:
    return _page(request, console)


def expired(request: Request, console: Renderer, back: str) -> Response:
    """A POST without the session's form token: nothing was changed."""
    return console.page(request, "tags/expired.html", {"back": back}, status_code=403)


@router.post("/tags/refresh", dependencies=[Depends(allow(Permission.TAGS_REFRESH))])
def refresh_now(
    request: Request, console: RendererDep, csrf: Annotated[str, Form(max_length=256)] = ""
) -> Response:
    if not csrf_ok(request, csrf):
        return expired(request, console, "/tags")
    hub = request.app.state.hub
    result = workflow.refresh_customer_system(
        hub.engine,
        hub.warehouse,
        tag_settings=TagSettings.load(hub.settings.resolved_data_dir),
        tz=hub.settings.tz,
    )
    audit.record_now(
        hub.engine, actor(request), "tags.refresh", after=result.model_dump(mode="json")
    )
    return RedirectResponse("/tags?done=refreshed", status_code=303)


@router.post("/tags/settings", dependencies=[Depends(allow(Permission.TAGS_SETTINGS))])
async def save_settings(request: Request, console: RendererDep) -> Response:
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf", ""))):
        return expired(request, console, "/tags")
    submitted = {name: str(form.get(name, "")).strip() for name in SETTINGS_FIELDS}
    lang = _lang(request)
    try:
        parsed = TagSettings.model_validate(submitted)
    except ValidationError as exc:
        return _page(
            request, console, form=submitted, errors=_settings_errors(lang, exc), status_code=422
        )
    if parsed.aov_low_yuan > parsed.aov_high_yuan:
        errors = {"aov_low_yuan": i18n.translate(lang, "tags.settings.error.aov_order")}
        return _page(request, console, form=submitted, errors=errors, status_code=422)
    data_dir = request.app.state.hub.settings.resolved_data_dir
    before = TagSettings.load(data_dir).model_dump(mode="json")
    parsed.save(data_dir)
    audit.record_now(
        request.app.state.hub.engine,
        actor(request),
        "tags.settings",
        before=before,
        after=parsed.model_dump(mode="json"),
    )
    return RedirectResponse("/tags?done=saved#settings", status_code=303)


@router.post("/tags/manual", dependencies=[Depends(allow(Permission.TAGS_MANUAL))])
def manual_tag(
    request: Request,
    console: RendererDep,
    customer_id: Annotated[str, Form(max_length=200)] = "",
    tag: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=10)] = "add",
    csrf: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Add or remove one manual tag of one customer (the forms on the customer 360 page)."""
    back = f"/customers/{quote(customer_id, safe='')}"
    if not csrf_ok(request, csrf):
        return expired(request, console, back)
    hub = request.app.state.hub
    try:
        if action == "remove":
            changed = tags.remove_manual(hub.warehouse, [customer_id], tag)
        else:
            changed = tags.add_manual(hub.warehouse, [customer_id], tag, source="console")
        audit.record_now(
            hub.engine,
            actor(request),
            "tags.manual_remove" if action == "remove" else "tags.manual_add",
            target=tag,
            after={"ids": [customer_id], "changed": changed},
        )
    except UseropsError as exc:
        return RedirectResponse(
            f"{back}?tag_error={quote(exc.field or 'tag')}#tags", status_code=303
        )
    return RedirectResponse(f"{back}#tags", status_code=303)
