"""The live debugger (实时调试): the latest tracked events as they arrive, and stats per key."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from userops.auth.roles import Permission
from userops.console.security import allow
from userops.console.templating import Renderer, renderer
from userops.ingest.tracking.service import Tracker

router = APIRouter(
    prefix="/live", include_in_schema=False, dependencies=[Depends(allow(Permission.READ))]
)
RendererDep = Annotated[Renderer, Depends(renderer)]
SHOWN = 50


def _row(seq: int, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": event["type"],
        "label": event.get("event") or event.get("name") or "",
        "who": event.get("user_id") or event.get("anonymous_id"),
        "anonymous": not event.get("user_id"),
        "timestamp": datetime.fromisoformat(event["timestamp"]),
        "received_at": datetime.fromisoformat(event["received_at"]),
        "key": event.get("write_key", ""),
        "order_refused": event.get("order_refused"),  # why an order event wrote no order
        "payload": json.dumps(event, ensure_ascii=False, indent=2, sort_keys=True),
    }


def _context(request: Request) -> dict[str, Any]:
    tracker: Tracker = request.app.state.tracker
    events = [_row(seq, event) for seq, event in tracker.recent.latest(SHOWN)]
    return {"events": events, "stats": tracker.stats.snapshot(), "status": tracker.status()}


@router.get("")
def live_page(request: Request, console: RendererDep) -> Response:
    return console.page(request, "live/index.html", _context(request), active="live")


@router.get("/feed")
def live_feed(request: Request, console: RendererDep) -> Response:
    """The part of the page htmx refreshes every two seconds."""
    return console.page(request, "live/_feed.html", _context(request), active="live")


@router.get("/event/{seq}")
def live_event(request: Request, seq: int, console: RendererDep) -> Response:
    """One event's whole payload: a panel for htmx, a page otherwise."""
    tracker: Tracker = request.app.state.tracker
    found = tracker.recent.get(seq)
    row = _row(seq, found) if found is not None else None
    if request.headers.get("hx-request"):
        return console.page(request, "live/_payload.html", {"e": row}, active="live")
    return console.page(
        request, "live/event.html", {"e": row}, status_code=200 if row else 404, active="live"
    )
