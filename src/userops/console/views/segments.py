"""Segments (分群): the saved segments with their sizes over time, and the visual rule builder.

The builder (``static/segments.js``) edits a rule tree in the page and keeps the rule JSON in a
hidden field; htmx posts it to ``/segments/preview`` (debounced) for the live count and a sample.
Saving and deleting are POST forms with the session's CSRF token. Everything goes through
``userops.segments.service``; the known tag values come from ``userops.tags.service.counts``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from userops.audit import service as audit
from userops.auth.roles import Permission
from userops.catalog import service as catalog
from userops.console import i18n
from userops.console.security import actor, allow, csrf_ok
from userops.console.templating import Renderer, renderer
from userops.console.views.tags import expired, value_label
from userops.core.errors import InvalidInput, NotFound, UseropsError
from userops.ledger import unit_of_work
from userops.segments import fields as registry
from userops.segments import service as segments
from userops.segments.tree import OPERATORS, ORDER_METRICS
from userops.tags import service as tags

router = APIRouter(
    prefix="/segments", include_in_schema=False, dependencies=[Depends(allow(Permission.READ))]
)
WRITE = [Depends(allow(Permission.SEGMENTS_WRITE))]
RendererDep = Annotated[Renderer, Depends(renderer)]
MAX_TAG_VALUES = 200  # known values offered per tag family (by customers, most first)
MAX_RULE_CHARS = 100_000
_PATH = re.compile(r"^((?:all|any|not|where)[\w\[\].]*|rule): ")


def _lang(request: Request) -> str:
    return i18n.choose(request.session.get("lang"), request.headers.get("accept-language"))


def error_path(message: str) -> str:
    """The rule node an error names (``all[1].any[0]``), or ``""`` for the whole rule."""
    found = _PATH.match(message)
    return "" if not found or found.group(1) == "rule" else found.group(1)


def category_options(warehouse: Any, lang: str) -> list[dict[str, Any]]:
    """The category tree for the builder's picker: every node, parents first, indented by
    depth, in ``lang`` (English names where the catalogue has them), with its product count."""
    nodes = catalog.tree(warehouse)
    out = []
    for node in nodes:
        shown = catalog.display_name(nodes, node.path, lang) or node.path
        label = shown.split(" › ")[-1]
        count = i18n.translate(lang, "seg.bought.products", n=f"{node.products:,}")
        out.append(
            {
                "name": node.path,
                "kind": "count",
                "label": "\u3000" * (node.depth - 1) + f"{label} ({count})",
                "path": shown,
            }
        )
    return out


def _registry(request: Request, lang: str, exclude: str | None) -> dict[str, Any]:
    """What the builder's dropdowns offer, with labels in ``lang``."""
    hub = request.app.state.hub
    counts = tags.counts(hub.warehouse, registry.TAG_FAMILIES)
    with unit_of_work(hub.engine) as session:
        saved = [s.name for s in segments.list_all(session) if s.name != exclude]

    def fields(kinds: dict[str, str]) -> list[dict[str, str]]:
        return [
            {"name": n, "kind": k, "label": i18n.translate(lang, f"seg.field.{n}", n)}
            for n, k in kinds.items()
        ]

    families = []
    for family in registry.TAG_FAMILIES:
        values = sorted(counts.get(family, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        families.append(
            {
                "name": family,
                "kind": "tag",
                "label": i18n.translate(lang, f"tag.family.{family}", family),
                "values": [
                    {"value": v, "label": value_label(lang, family, v), "customers": n}
                    for v, n in values[:MAX_TAG_VALUES]
                ],
            }
        )
    return {
        "attr": fields(registry.ATTR_FIELDS),
        "tag": families,
        "rfm": fields(registry.VALUE_FIELDS),
        "score": fields(registry.SCORE_FIELDS),
        "orders": [
            {"name": m, "kind": "number", "label": i18n.translate(lang, f"seg.orders.{m}", m)}
            for m in ORDER_METRICS
        ],
        "reachable": [
            {"name": c, "label": i18n.translate(lang, f"channel.{c}", c)}
            for c in registry.REACH_CHANNELS
        ],
        "segment": [{"name": n, "label": n} for n in saved],
        "bought": category_options(hub.warehouse, lang),
        "operators": {op: i18n.translate(lang, f"seg.op.{op}", op) for op in OPERATORS},
    }


LABEL_KEYS = (
    "all",
    "any",
    "negate",
    "add_condition",
    "add_group",
    "remove",
    "type",
    "field",
    "operator",
    "value",
    "within_days",
    "days",
    "event",
    "event_name",
    "add_filter",
    "property",
    "custom_key",
    "custom_attribute",
    "values_hint",
    "and_low",
    "choose",
    "true",
    "false",
    "group_all",
    "group_any",
    "not",
    "empty_group",
    "inactive_order",
    "inactive_event",
)
TYPES = (
    *("tag", "attr", "rfm", "score", "orders", "events", "inactive", "reachable", "segment"),
    "bought",
)


def _labels(lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {k: i18n.translate(lang, f"seg.ui.{k}") for k in LABEL_KEYS}
    out["types"] = {k: i18n.translate(lang, f"seg.type.{k}") for k in TYPES}
    return out


def _builder(
    request: Request,
    console: Renderer,
    *,
    name: str = "",
    description: str = "",
    rule: Any = None,
    original: str = "",
    errors: dict[str, str] | None = None,
    rule_text: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = _lang(request)
    context = {
        "name": name,
        "description": description,
        "original": original,
        "rule_text": rule_text
        if rule_text is not None
        else json.dumps(rule or {"all": []}, ensure_ascii=False),
        "errors": errors or {},
        "registry": _registry(request, lang, original or None),
        "labels": _labels(lang),
    }
    return console.page(
        request, "segments/builder.html", context, status_code=status_code, active="segments"
    )


@router.get("")
def list_page(request: Request, console: RendererDep) -> Response:
    hub = request.app.state.hub
    rows = []
    with unit_of_work(hub.engine) as session:
        saved = segments.list_all(session)
        for s in saved:
            points = segments.history(hub.warehouse, s.name)
            live: int | None = None
            broken = False
            if not points:
                try:
                    live = segments.preview(session, hub.warehouse, s.rule, sample=0).count
                except UseropsError:
                    broken = True
            rows.append(
                {
                    "segment": s,
                    "size": points[-1].size if points else live,
                    "live": not points,
                    "broken": broken,
                    "recorded_at": points[-1].as_of if points else None,
                    "series": [[p.as_of.isoformat(), p.size] for p in points],
                }
            )
    context = {
        "rows": rows,
        "saved": request.query_params.get("saved", ""),
        "deleted": request.query_params.get("deleted", ""),
    }
    return console.page(request, "segments/index.html", context, active="segments")


@router.get("/new", dependencies=WRITE)
def new_page(request: Request, console: RendererDep) -> Response:
    return _builder(request, console)


@router.post("/preview")
def preview(
    request: Request,
    console: RendererDep,
    rule: Annotated[str, Form(max_length=MAX_RULE_CHARS)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """The live count and a sample of 10 customers for the rule being edited (a partial)."""
    context: dict[str, Any] = {"result": None, "error": None, "error_path": ""}
    if not csrf_ok(request, csrf):
        context["error"] = i18n.translate(_lang(request), "common.expired.text")
        return console.page(request, "segments/_preview.html", context, status_code=403)
    hub = request.app.state.hub
    try:
        parsed = _parse_rule(rule)
        with unit_of_work(hub.engine) as session:
            context["result"] = segments.preview(session, hub.warehouse, parsed, sample=10)
    except UseropsError as exc:
        context["error"] = str(exc)
        context["error_path"] = error_path(str(exc))
    return console.page(request, "segments/_preview.html", context)


def _parse_rule(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"rule: not valid JSON ({exc})", field="rule") from exc


@router.post("", dependencies=WRITE)
def save(
    request: Request,
    console: RendererDep,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    rule: Annotated[str, Form(max_length=MAX_RULE_CHARS)] = "",
    original: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return expired(request, console, "/segments")
    hub = request.app.state.hub
    name = name.strip()
    try:
        parsed = _parse_rule(rule)
        replacing = bool(original) and original == name
        with unit_of_work(hub.engine) as session:
            before = _audited_state(session, name) if replacing else None
            saved = segments.create(
                session,
                hub.warehouse,
                name=name,
                rule=parsed,
                description=description.strip() or None,
                replace=replacing,
            )
            audit.record(
                session,
                actor(request),
                "segment.update" if before else "segment.create",
                target=name,
                before=before,
                after=saved.model_dump(mode="json", include={"rule", "description"}),
            )
    except UseropsError as exc:
        where = "name" if exc.field == "name" else "rule"
        return _builder(
            request,
            console,
            name=name,
            description=description,
            original=original,
            rule_text=rule,
            errors={where: str(exc), "path": error_path(str(exc))},
            status_code=409 if exc.code == "conflict" else 422,
        )
    return RedirectResponse(f"/segments?saved={quote(name)}", status_code=303)


@router.post("/delete", dependencies=WRITE)
def delete(
    request: Request,
    console: RendererDep,
    name: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    if not csrf_ok(request, csrf):
        return expired(request, console, "/segments")
    hub = request.app.state.hub
    try:
        with unit_of_work(hub.engine) as session:
            before = _audited_state(session, name)
            segments.delete(session, hub.warehouse, name)
            audit.record(session, actor(request), "segment.delete", target=name, before=before)
    except NotFound:
        return RedirectResponse("/segments", status_code=303)
    return RedirectResponse(f"/segments?deleted={quote(name)}", status_code=303)


def _audited_state(session: Any, name: str) -> dict[str, Any] | None:
    try:
        found = segments.get(session, name)
    except NotFound:
        return None
    return found.model_dump(mode="json", include={"rule", "description"})


@router.get("/{name:path}")
def edit_page(request: Request, console: RendererDep, name: str) -> Response:
    hub = request.app.state.hub
    try:
        with unit_of_work(hub.engine) as session:
            found = segments.get(session, name)
    except NotFound:
        return console.page(
            request,
            "segments/not_found.html",
            {"name": name},
            status_code=404,
            active="segments",
        )
    return _builder(
        request,
        console,
        name=found.name,
        description=found.description or "",
        rule=found.rule,
        original=found.name,
    )
