"""The overview page (概览): KPI cards and daily charts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from userops.analytics.overview import overview
from userops.auth.roles import Permission
from userops.console.security import current_user, may
from userops.console.templating import Renderer, renderer

router = APIRouter(include_in_schema=False, dependencies=[Depends(current_user)])
RendererDep = Annotated[Renderer, Depends(renderer)]
PERIODS = (30, 90, 180, 365)


@router.get("/")
def overview_page(request: Request, console: RendererDep, days: int = 90) -> Response:
    if not may(request, Permission.READ):  # a service agent's console starts at customers
        return RedirectResponse("/customers", status_code=303)
    days = days if days in PERIODS else 90
    hub = request.app.state.hub
    result = overview(hub.warehouse, timezone=hub.settings.timezone, days=days)
    chart = {
        "days": [p.day.isoformat() for p in result.series],
        "new_customers": [p.new_customers for p in result.series],
        "gmv_fen": [p.gmv_fen for p in result.series],
        "partial": [p.partial for p in result.series],
    }
    context = {"ov": result, "days": days, "periods": PERIODS, "chart": chart}
    return console.page(request, "overview/index.html", context, active="overview")
