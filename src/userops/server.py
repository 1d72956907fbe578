"""The server process: the HTTP API and the web console over one data dir's hub."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from userops import __version__
from userops.api import app as api
from userops.config import Settings
from userops.console import app as console
from userops.core.files import write_private_text
from userops.hub import Hub
from userops.jobs import tracking
from userops.warehouse import owner

log = logging.getLogger("userops.api")


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def session_secret(settings: Settings) -> str:
    """USEROPS_SECRET_KEY, or a random key kept (mode 0600) in the data dir."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.ensure_data_dir() / "secret_key"
    if not path.exists():
        write_private_text(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def _log_wait(holder: owner.Holder | None) -> None:
    what = holder.describe() if holder else "another userops command"
    log.warning("waiting for %s to finish with this data dir", what)


def create_app(settings: Settings, *, public_url: str | None = None) -> FastAPI:
    """Build the app. At start it takes the data dir's warehouse (waiting for a CLI command that
    holds it) and, given ``public_url``, publishes itself so CLI commands go through it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        data_dir = settings.ensure_data_dir()
        with ExitStack() as stack:
            stack.enter_context(
                owner.hold(
                    data_dir,
                    holder=f"userops serve ({public_url or 'in-process app'})",
                    on_wait=_log_wait,
                )
            )
            hub = Hub.open(settings)
            stack.callback(hub.close)
            app.state.hub = hub
            app.state.tracker = stack.enter_context(tracking.running(hub))  # tracking API loader
            if public_url:
                info = owner.publish_server(data_dir, public_url)
                app.state.local_token = info.token
                stack.callback(owner.withdraw_server, data_dir, info)
            yield

    app = FastAPI(
        title="userops",
        version=__version__,
        summary="User operations (用户运营) for e-commerce shops",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # served from the package by api.routers.docs (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.local_token = None
    api.install(app)
    console.mount(app, settings, secret=session_secret(settings))
    return app
