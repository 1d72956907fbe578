"""The HTTP API: error shapes and routers, installed on the server's app."""

from __future__ import annotations

from fastapi import FastAPI

from userops.api import errors
from userops.api.routers import customers, health, internal


def install(app: FastAPI) -> None:
    errors.install(app)
    app.include_router(health.router)
    app.include_router(customers.router)
    app.include_router(internal.router)
