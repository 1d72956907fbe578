"""Installs the console on the server's app: sessions, static assets, the page routes and the
console's 404 page."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

from userops.auth.roles import roles_with
from userops.config import Settings
from userops.console import security
from userops.console.templating import Renderer
from userops.console.views import (
    analytics,
    auth,
    customers,
    language,
    live,
    overview,
    predict,
    segments,
    tags,
    users,
)

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "userops_session"

NOT_CONSOLE = ("/api/", "/v1/", "/internal/", "/static/", "/openapi.json", "/docs", "/healthz")
"""Paths that belong to the HTTP API (or are files): their errors stay JSON."""


def mount(app: FastAPI, settings: Settings, *, secret: str) -> None:
    """Add the console to ``app``. Pages read data from ``app.state.hub`` (set at start).

    Call it after the API is installed: the console's 404 page wraps the API's handler, which
    keeps answering for API paths and for clients that ask for JSON."""
    trust = security.ClientTrust.from_settings(settings, secret=secret)
    app.state.console_trust = trust
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        # The cookie outlives no session: the ledger record decides (security.signed_in_user).
        max_age=settings.console_session_hours * 3600,
        same_site="lax",
        https_only=settings.cookie_secure == "always",
    )
    if settings.cookie_secure == "auto":
        app.add_middleware(security.SecureCookies, trust=trust)  # outermost: sees every cookie
    app.add_exception_handler(security.LoginRequired, security.login_redirect)
    app.add_exception_handler(security.RoleRequired, _forbidden)
    _install_not_found(app)
    app.state.console = Renderer(settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        auth,
        language,
        overview,
        customers,
        analytics,
        live,
        tags,
        segments,
        predict,
        users,
    ):
        app.include_router(module.router)


def _forbidden(request: Request, exc: Exception) -> Response:
    """The 403 page: what was asked for and which roles may do it."""
    assert isinstance(exc, security.RoleRequired)
    console: Renderer = request.app.state.console
    context = {"permission": exc.permission.value, "needed": roles_with(exc.permission)}
    return console.page(request, "errors/forbidden.html", context, status_code=403)


def _install_not_found(app: FastAPI) -> None:
    previous = app.exception_handlers.get(StarletteHTTPException)

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and wants_console_page(request):
            console: Renderer = request.app.state.console
            context = {"missing_path": request.url.path}
            return console.page(request, "errors/page_not_found.html", context, status_code=404)
        if previous is None:
            return Response(str(exc.detail), status_code=exc.status_code)
        response: Response = await previous(request, exc)
        return response

    app.add_exception_handler(StarletteHTTPException, not_found)


def wants_console_page(request: Request) -> bool:
    """A console URL asked for by a browser (or anything that does not insist on JSON)."""
    path = request.url.path
    if path.startswith(NOT_CONSOLE):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "json" not in accept
