"""Switching the console's language (kept in the session)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from userops.console import i18n
from userops.console.security import safe_next

router = APIRouter(include_in_schema=False)


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> RedirectResponse:
    if code not in i18n.LANGUAGES:
        raise HTTPException(status_code=404, detail=f"unknown language {code!r}")
    request.session["lang"] = code
    return RedirectResponse(safe_next(next or _referer_path(request)), status_code=303)


def _referer_path(request: Request) -> str | None:
    """The path of the page the switch was clicked on, when it is on this server."""
    referer = request.headers.get("referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.headers.get("host"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
