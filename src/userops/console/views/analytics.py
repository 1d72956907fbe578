"""The analytics pages (分析): retention heatmap, funnel, AARRR board, channels, magic number.

Each tab is a GET form; its result is drawn by ECharts from JSON embedded in the page (the
script is served by this module, see ``charts.js``), can be saved as PNG, and its data is
downloadable as CSV from ``/analytics/<report>.csv`` with the same query string.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from userops.analytics import service as analytics
from userops.auth.roles import Permission
from userops.console.security import allow
from userops.console.templating import SECURITY_HEADERS, TEMPLATES_DIR, Renderer, renderer
from userops.core.errors import InvalidInput, UseropsError

router = APIRouter(include_in_schema=False, dependencies=[Depends(allow(Permission.READ))])
RendererDep = Annotated[Renderer, Depends(renderer)]
TABS = ("retention", "funnel", "aarrr", "channels", "magic")
SCRIPT = TEMPLATES_DIR / "analytics" / "charts.js"
DEFAULT_STEPS = ("product_view", "add_to_cart", "order")


def _params(request: Request) -> dict[str, Any]:
    """Non-empty query parameters; ``step`` and ``cumulative`` are handled by the reports."""
    params: dict[str, Any] = {}
    for key in request.query_params:
        if key in ("tab", "step"):
            continue
        value = request.query_params.getlist(key)[-1].strip()
        if value:
            params[key] = value
    return params


def _run(tab: str, request: Request) -> dict[str, Any]:
    hub = request.app.state.hub
    tz = hub.settings.timezone
    params = _params(request)
    if tab == "retention":
        params["cumulative"] = params.get("cumulative") in ("1", "true", "on")
        q = analytics.parse(analytics.RetentionQuery, params)
        return analytics.retention(hub.warehouse, timezone=tz, query=q).model_dump(mode="json")
    if tab == "funnel":
        texts = [s for s in request.query_params.getlist("step") if s.strip()] or list(
            DEFAULT_STEPS
        )
        window = params.pop("window", "7d")
        q = analytics.parse(
            analytics.FunnelQuery,
            {
                **params,
                "steps": [analytics.parse_step(s) for s in texts],
                "window_seconds": analytics.parse_window(window),
            },
        )
        return analytics.funnel(hub.warehouse, timezone=tz, query=q).model_dump(mode="json")
    if tab == "aarrr":
        q = analytics.parse(analytics.AarrrQuery, params)
        return analytics.aarrr(hub.warehouse, timezone=tz, query=q).model_dump(mode="json")
    if tab == "channels":
        q = analytics.parse(analytics.ChannelsQuery, params)
        return analytics.channels(hub.warehouse, timezone=tz, query=q).model_dump(mode="json")
    q = analytics.parse(analytics.MagicQuery, params)
    return analytics.magic_number(hub.warehouse, timezone=tz, query=q).model_dump(mode="json")


@router.get("/analytics")
def analytics_page(request: Request, console: RendererDep, tab: str = "retention") -> Response:
    tab = tab if tab in TABS else "retention"
    error: str | None = None
    result: dict[str, Any] | None = None
    try:
        result = _run(tab, request)
    except UseropsError as exc:
        error = exc.message
    hub = request.app.state.hub
    try:
        events = analytics.known_events_of(hub.warehouse)
    except UseropsError:
        events = []
    form = {k: request.query_params.getlist(k)[-1] for k in request.query_params}
    steps = [s for s in request.query_params.getlist("step") if s.strip()] or list(DEFAULT_STEPS)
    context = {
        "tab": tab,
        "tabs": TABS,
        "result": result,
        "error": error,
        "form": form,
        "steps": steps,
        "events": events,
        "query": request.url.query,
    }
    status = 400 if error else 200
    return console.page(
        request, "analytics/index.html", context, active="analytics", status_code=status
    )


@router.get("/analytics/charts.js")
def charts_script() -> Response:
    return Response(
        SCRIPT.read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/analytics/{report}.csv", dependencies=[Depends(allow(Permission.EXPORT))])
def analytics_csv(report: str, request: Request) -> Response:
    if report not in TABS:
        raise InvalidInput(f"unknown report {report!r}; known: {', '.join(TABS)}", field="report")
    try:
        rows = to_rows(report, _run(report, request))
    except UseropsError as exc:
        return Response(exc.message, status_code=400, media_type="text/plain")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    return Response(
        "\ufeff" + buffer.getvalue(),  # BOM: spreadsheet programs then read UTF-8 (中文)
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report}.csv"'},
    )


def to_rows(report: str, result: dict[str, Any]) -> list[list[Any]]:
    """A report's data as CSV rows (header first)."""
    if report == "retention":
        groups = result.get("groups") or [{"value": "", "cohorts": result["cohorts"]}]
        width = max((len(c["counts"]) for g in groups for c in g["cohorts"]), default=0)
        rows: list[list[Any]] = [
            [
                "breakdown",
                "cohort",
                "size",
                *[f"count_{k}" for k in range(width)],
                *[f"rate_{k}" for k in range(width)],
                *[f"partial_{k}" for k in range(width)],
            ]
        ]
        for g in groups:
            for c in g["cohorts"]:
                pad = [""] * (width - len(c["counts"]))
                partial = c.get("partial_cells") or [False] * len(c["counts"])
                rows.append(
                    [
                        g["value"],
                        c["start"],
                        c["size"],
                        *c["counts"],
                        *pad,
                        *c["rates"],
                        *pad,
                        *partial,
                        *pad,
                    ]
                )
        return rows
    if report == "funnel":
        groups = result.get("groups") or [{"value": "", "steps": result["steps"]}]
        rows = [
            [
                "breakdown",
                "step",
                "people",
                "conversion_from_previous",
                "conversion_from_first",
                "median_seconds_to_convert",
                "average_seconds_to_convert",
                "dropped",
            ]
        ]
        for g in groups:
            for s in g["steps"]:
                rows.append(
                    [
                        g["value"],
                        s["step"],
                        s["people"],
                        s["conversion_from_previous"],
                        s["conversion_from_first"],
                        s["median_seconds_to_convert"],
                        s["average_seconds_to_convert"],
                        s["dropped"],
                    ]
                )
        return rows
    if report == "aarrr":
        keys = (
            [k for k in result["periods"][0] if k != "new_by_channel"]
            if result["periods"]
            else ["start"]
        )
        rows = [[*keys, "new_by_channel"]]
        for p in result["periods"]:
            by = ";".join(f"{k}={v}" for k, v in p["new_by_channel"].items())
            rows.append([*[p[k] for k in keys], by])
        return rows
    if report == "channels":
        rows = [
            [
                "channel",
                "period_start",
                "spend_fen",
                "new_customers",
                "cac_fen",
                "first_order_revenue_fen",
                "revenue_30d_fen",
                "revenue_90d_fen",
                "revenue_180d_fen",
                "roi_30d",
                "roi_90d",
                "roi_180d",
                "payback_days",
                "ltv_cac",
            ]
        ]
        for p in result["periods"]:
            rows.append(
                [
                    p["channel"],
                    p["start"],
                    p["spend_fen"],
                    p["new_customers"],
                    p["cac_fen"],
                    p["first_order_revenue_fen"],
                    *[p["revenue_fen"][h] for h in ("30d", "90d", "180d")],
                    *[p["roi"][h] for h in ("30d", "90d", "180d")],
                    p["payback_days"],
                    p["ltv_cac"],
                ]
            )
        return rows
    rows = [
        [
            "event",
            "threshold",
            "youden_j",
            "retention_above",
            "retention_below",
            "lift",
            "share_above",
            "people_above",
        ]
    ]
    for b in result["behaviours"]:
        rows.append(
            [
                b["event"],
                b["threshold"],
                b["youden_j"],
                b["retention_above"],
                b["retention_below"],
                b["lift"],
                b["share_above"],
                b["people_above"],
            ]
        )
    return rows
