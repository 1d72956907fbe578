"""The HTTP API: error shapes and routers, installed on the server's app."""

from __future__ import annotations

from fastapi import FastAPI

from userops.api import errors
from userops.api.routers import analytics as analytics_routes
from userops.api.routers import customers, docs, health, internal, predict, recommend, tracking
from userops.api.routers import tags as tag_routes


def install(app: FastAPI) -> None:
    errors.install(app)
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(customers.router)
    app.include_router(tag_routes.router)
    app.include_router(internal.router)
    app.include_router(predict.router)
    app.include_router(recommend.router)
    app.include_router(analytics_routes.router)
    app.include_router(tracking.router)
