"""The CLV page (客户价值): CLV distribution, top customers, churn risk by lifecycle stage and
the model check (predicted vs actual by frequency; cumulative repeat transactions).

Reads ``userops.predict.service`` only; the charts are drawn by ``charts.js`` (served here)
from JSON embedded in the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from userops.auth.roles import Permission
from userops.console.security import allow
from userops.console.templating import SECURITY_HEADERS, TEMPLATES_DIR, Renderer, renderer
from userops.predict import service as predict

router = APIRouter(include_in_schema=False, dependencies=[Depends(allow(Permission.READ))])
RendererDep = Annotated[Renderer, Depends(renderer)]
SCRIPT = TEMPLATES_DIR / "predict" / "charts.js"


@router.get("/clv")
def clv_page(request: Request, console: RendererDep) -> Response:
    hub = request.app.state.hub
    board = predict.dashboard(hub.warehouse, data_dir=hub.settings.resolved_data_dir)
    chart = {
        "buckets": [b.model_dump() for b in board.clv_buckets],
        "risk": [r.model_dump() for r in board.risk_by_stage],
        "diagnostics": board.diagnostics,
    }
    return console.page(
        request, "predict/index.html", {"board": board, "chart": chart}, active="clv"
    )


@router.get("/clv/charts.js")
def charts_script() -> Response:
    return Response(
        SCRIPT.read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )
