"""Every error leaves the API as ``{"error": {"code", "message", "field"}}``.

:class:`ErrorBody` is that shape as a pydantic model, used only to document it: every route
lists the statuses it can answer with :func:`responses`, so ``/openapi.json`` says what a client
really gets (and schemathesis holds the server to it).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from userops.core.errors import UseropsError

log = logging.getLogger("userops.api")


class ErrorDetail(BaseModel):
    code: str = Field(
        description="Stable, machine-readable: invalid, unauthorized, forbidden, not_found, "
        "conflict, too_large, rate_limited, or a domain code such as predict.not_fitted",
        examples=["invalid"],
    )
    message: str = Field(description="What is wrong, for a person", examples=["limit: …"])
    field: str | None = Field(
        description="The input at fault (a parameter, a header, a JSON path such as "
        "batch[3].event), or null",
        examples=["limit"],
    )


class ErrorBody(BaseModel):
    """The body of every 4xx (and of an unexpected 500)."""

    error: ErrorDetail


DESCRIPTIONS: dict[int, str] = {
    400: "The input breaks a rule; `error.field` names it and nothing was changed",
    401: "No API key, or an unknown one (`WWW-Authenticate` says how to send it)",
    403: "The key is revoked, or its scope may not do this",
    404: "The named thing does not exist",
    409: "The request conflicts with the current state (e.g. nothing trained or fitted yet)",
    413: "The body is larger than the limit",
    422: "The data is too thin for what was asked (e.g. too few customers to learn from)",
    429: "The key's rate limit is exceeded; retry after `Retry-After` seconds",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "How to authenticate", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {"type": "integer"},
        }
    },
}
AUTH = (401, 403)
"""What every route behind an API key can answer."""


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses, each with the shared error body."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorBody, "description": DESCRIPTIONS[status]}
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        out[status] = entry
    return out


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def auth_headers(status: int) -> dict[str, str] | None:
    """A 401 says which schemes are accepted (RFC 9110 §11.6.1)."""
    return {"WWW-Authenticate": 'Bearer realm="userops"'} if status == 401 else None


def _field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """``("query", "limit")`` → ``limit``; ``("body", "rule", "all", 0)`` → ``rule.all[0]``."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header", "cookie") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or (str(loc[-1]) if loc else None)


_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


@lru_cache(maxsize=256)
def _template(path: str) -> re.Pattern[str]:
    """``/api/v1/segments/{name}`` → a pattern of the concrete paths it stands for."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _allowed(request: Request, fallback: str) -> str:
    """Every documented method of this path. Starlette's 405 names only the first route that
    matched the path, and here each method of a path is a route of its own."""
    path = request.scope.get("path", "")
    for template, item in request.app.openapi().get("paths", {}).items():
        if _template(template).fullmatch(path):
            return ", ".join(sorted(m.upper() for m in item if m in _METHODS))
    return fallback


def install(app: FastAPI) -> None:
    @app.exception_handler(UseropsError)
    async def _domain(_request: Request, exc: UseropsError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field),
            status_code=exc.status,
            headers=auth_headers(exc.status),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = _field(first.get("loc", ()))
        message = str(first.get("msg", "invalid request"))
        return JSONResponse(
            error_body("invalid", f"{field}: {message}" if field else message, field),
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
        }.get(exc.status_code, "http_error")
        headers = {**(auth_headers(exc.status_code) or {}), **(getattr(exc, "headers", {}) or {})}
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request, headers.get("Allow", ""))
        return JSONResponse(
            error_body(code, str(exc.detail), "authorization" if exc.status_code == 401 else None),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        """A bug: the client still gets the error shape; the log gets the traceback (the
        path only, never the query or body, which may hold personal data)."""
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            error_body("internal", "an unexpected error; it was logged", None), status_code=500
        )
