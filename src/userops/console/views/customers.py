"""Customer search and the customer 360 page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from userops.console.security import current_user
from userops.console.templating import Renderer, renderer
from userops.core.errors import NotFound
from userops.customers import service as customers
from userops.ledger import unit_of_work
from userops.predict import service as predict
from userops.recommend import service as recommend
from userops.tags import service as tags

router = APIRouter(
    prefix="/customers", include_in_schema=False, dependencies=[Depends(current_user)]
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


@router.get("/{customer_id:path}")
def customer_page(request: Request, customer_id: str, console: RendererDep) -> Response:
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
    context["scores"] = predict.customer_score(hub.warehouse, customer_id)
    context["recs"] = recommend.peek(hub.warehouse, customer_id, k=10)
    return console.page(request, "customers/detail.html", context, active="customers")
