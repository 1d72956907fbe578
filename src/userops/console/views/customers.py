"""Customer search and the customer 360 page."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from userops.audit import service as audit
from userops.auth.roles import Permission
from userops.catalog import service as catalog
from userops.console import i18n
from userops.console.security import CurrentUser, actor, allow, csrf_ok
from userops.console.templating import Renderer, renderer
from userops.core.errors import NotFound
from userops.customers import erasure
from userops.customers import service as customers
from userops.ledger import unit_of_work
from userops.predict import service as predict
from userops.recommend import service as recommend
from userops.tags import service as tags

router = APIRouter(
    prefix="/customers",
    include_in_schema=False,
    dependencies=[Depends(allow(Permission.CUSTOMERS_READ))],
)
RendererDep = Annotated[Renderer, Depends(renderer)]


@router.get("")
def search_page(request: Request, console: RendererDep, query: str = "") -> Response:
    query = query.strip()[:200]
    with unit_of_work(request.app.state.hub.engine) as session:
        found = customers.search(session, query, limit=50)
    context = {"query": query, "results": found}
    partial = request.headers.get("hx-request") and not request.headers.get(
        "hx-history-restore-request"
    )
    name = "customers/_results.html" if partial else "customers/search.html"
    return console.page(request, name, context, active="customers")


@router.post("/erase", dependencies=[Depends(allow(Permission.CUSTOMERS_ERASE))])
def erase_customer(
    request: Request,
    console: RendererDep,
    user: CurrentUser,
    customer_id: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """The 360 page's erase action: the operator types the id again to confirm."""
    back = f"/customers/{quote(customer_id, safe='')}"
    if not csrf_ok(request, csrf):
        return console.page(request, "tags/expired.html", {"back": back}, status_code=403)
    if not customer_id or confirm.strip() != customer_id:
        return RedirectResponse(f"{back}?erase_error=confirm#erase", status_code=303)
    hub = request.app.state.hub
    result = erasure.erase(
        engine=hub.engine,
        warehouse=hub.warehouse,
        data_dir=hub.settings.resolved_data_dir,
        customer_id=customer_id,
        requested_by=f"console:{user}",
        erasure_key=hub.settings.erasure_key,
        tracker=getattr(request.app.state, "tracker", None),
    )
    audit.record_now(
        hub.engine,
        actor(request),
        "customer.erase",
        target=result["subject"],  # the keyed hash the erasure keeps, never the erased id
        after={"removed": result["removed"]},
    )
    context = {"removed": result["removed"]}
    return console.page(request, "customers/erased.html", context, active="customers")


REVEALABLE = ("phone", "email")


@router.post("/reveal", dependencies=[Depends(allow(Permission.CUSTOMERS_REVEAL))])
def reveal_contact(
    request: Request,
    console: RendererDep,
    customer_id: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Show one customer's phone or email unmasked, once, on this answer only; the reveal is
    written to the audit log first (who, which customer, which kind; never the value)."""
    back = f"/customers/{quote(customer_id, safe='')}"
    if not csrf_ok(request, csrf):
        return console.page(request, "tags/expired.html", {"back": back}, status_code=403)
    if kind not in REVEALABLE:
        return RedirectResponse(back, status_code=303)
    hub = request.app.state.hub
    with unit_of_work(hub.engine) as session:
        customers.customer_360(session, hub.warehouse, customer_id)  # 404 before logging
        audit.record(
            session, actor(request), "customer.reveal", target=customer_id, after={"kind": kind}
        )
    return _detail(request, console, customer_id, revealed=frozenset({kind}))


@router.get("/{customer_id:path}")
def customer_page(request: Request, customer_id: str, console: RendererDep) -> Response:
    return _detail(request, console, customer_id)


def _detail(
    request: Request,
    console: Renderer,
    customer_id: str,
    *,
    revealed: frozenset[str] = frozenset(),
) -> Response:
    hub = request.app.state.hub
    try:
        with unit_of_work(hub.engine) as session:
            view = customers.customer_360(session, hub.warehouse, customer_id)
    except NotFound:
        context = {"message_key": "error.customer_not_found", "customer_id": customer_id}
        return console.page(
            request, "errors/not_found.html", context, status_code=404, active="customers"
        )
    if view.profile.customer_id != customer_id:  # merged: show the surviving customer's URL
        return RedirectResponse(
            f"/customers/{quote(view.profile.customer_id, safe='')}", status_code=303
        )
    try:
        customer_tags = tags.show(hub.warehouse, customer_id)
    except NotFound:
        customer_tags = None
    tag_error = request.query_params.get("tag_error")
    context = {"c": view, "tags": customer_tags, "tag_error": tag_error}
    context["revealed"] = revealed
    context["revealable"] = REVEALABLE
    context["erase_error"] = request.query_params.get("erase_error")
    context["scores"] = predict.customer_score(hub.warehouse, customer_id)
    context["recs"] = recommend.peek(hub.warehouse, customer_id, k=10)
    context.update(_products(request, view, context["recs"]))
    return console.page(request, "customers/detail.html", context, active="customers")


def _event_sku(properties: str | None) -> str | None:
    """The SKU an event is about (``sku``, else ``product_id``; see catalog.queries.event_sku)."""
    if not properties:
        return None
    try:
        props = json.loads(properties)
    except ValueError:
        return None
    if not isinstance(props, dict):
        return None
    sku = props.get("sku") or props.get("product_id")
    return str(sku) if isinstance(sku, str | int) and not isinstance(sku, bool) else None


def _products(request: Request, view: Any, recs: Any) -> dict[str, Any]:
    """What the 360 page shows instead of SKU codes: the catalogue's products for the order
    lines, the events and the recommendations on it, and the category names in the page's
    language."""
    hub = request.app.state.hub
    lines = catalog.order_lines(hub.warehouse, [o.order_id for o in view.recent_orders])
    event_skus = {
        i: sku for i, e in enumerate(view.recent_events) if (sku := _event_sku(e.properties))
    }
    skus = {line.sku for group in lines.values() for line in group} | set(event_skus.values())
    if recs is not None:
        skus |= {item.sku for item in recs.items}
    lang = i18n.choose(request.session.get("lang"), request.headers.get("accept-language"))
    return {
        "order_lines": lines,
        "event_skus": event_skus,
        "products": catalog.cards(hub.warehouse, skus),
        "category_names": catalog.display_names(catalog.tree(hub.warehouse), lang),
    }
