"""The HTTP API: error shapes, routers and the OpenAPI document, installed on the server's app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from userops.api import errors
from userops.api.routers import analytics as analytics_routes
from userops.api.routers import (
    customers,
    docs,
    health,
    internal,
    predict,
    recommend,
    tracking,
    users,
)
from userops.api.routers import tags as tag_routes
from userops.ingest.tracking import schemas as tracking_schemas


def install(app: FastAPI) -> None:
    errors.install(app)
    _finish_openapi(app)
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(customers.router)
    app.include_router(tag_routes.router)
    app.include_router(internal.router)
    app.include_router(predict.router)
    app.include_router(recommend.router)
    app.include_router(analytics_routes.router)
    app.include_router(tracking.router)
    app.include_router(users.router)


def _finish_openapi(app: FastAPI) -> None:
    """Make ``/openapi.json`` say what the API answers, where FastAPI's defaults do not:

    - request validation answers 400 with our error body (``errors.install``), not FastAPI's
      422 ``HTTPValidationError``: that response is replaced by ours on every operation;
    - the tracking routes refer to the schemas of their bodies but read raw bodies, so FastAPI
      does not collect those schemas itself: they are added to ``components``.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    _validation_is_400(operation.get("responses", {}))
            found = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                found.pop(name, None)
            found.update(tracking_schemas.components())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _validation_is_400(responses: dict[str, Any]) -> None:
    default = responses.get("422", {})
    schema = default.get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]
        responses.setdefault(
            "400",
            {
                "description": errors.DESCRIPTIONS[400],
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                },
            },
        )
