"""Installs the console on the server's app: sessions, static assets and the page routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

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
)

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "userops_session"
SESSION_MAX_AGE = 7 * 24 * 3600


def mount(app: FastAPI, settings: Settings, *, secret: str) -> None:
    """Add the console to ``app``. Pages read data from ``app.state.hub`` (set at start)."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=False,
    )
    app.add_exception_handler(security.LoginRequired, security.login_redirect)
    app.state.console = Renderer(settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, language, overview, customers, analytics, live, tags, segments, predict):
        app.include_router(module.router)
