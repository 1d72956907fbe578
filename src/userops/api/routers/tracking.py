"""Segment's HTTP Tracking API: ``/v1/track``, ``identify``, ``page``, ``screen``, ``alias``,
``group``, ``batch`` (and ``import``, an alias of batch).

The write key comes as the Basic-auth user name (empty password), a Bearer token or ``writeKey``
in the body; bodies may be gzip- or deflate-compressed (decompressed in a bounded stream, off
the event loop: 413 past 500 KB for a batch, 32 KB for a single call). A 200 means every event
of the call is durable (journaled and synced); a 400 refuses the whole call and names the
broken rule's field.
Handlers read the raw body (no pydantic model): the rules live in ``ingest.tracking.rules``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from userops.api import errors
from userops.api.deps import SECURITY
from userops.auth import service as auth
from userops.core.clock import utcnow
from userops.core.errors import InvalidInput, Unauthorized, UseropsError
from userops.ingest.tracking import schemas
from userops.ingest.tracking.rules import Checked
from userops.ingest.tracking.schemas import Accepted
from userops.ingest.tracking.service import (
    PayloadTooLarge,
    RateLimited,
    Tracker,
    body_limit,
    inflate,
)
from userops.ledger import unit_of_work

router = APIRouter(prefix="/v1", tags=["tracking"])

CALLS = ("track", "identify", "page", "screen", "alias", "group", "batch", "import")
SHORT = {
    "t": "track",
    "i": "identify",
    "p": "page",
    "s": "screen",
    "a": "alias",
    "g": "group",
    "b": "batch",
}
"""The one-letter paths analytics.js (analytics-next) posts to: ``/v1/t`` is a track call."""
_OK = b'{"success":true}'
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}
"""Browsers on the shop's own sites send events here (write keys are meant to be public)."""


async def _verified_prefix(request: Request, key: str) -> str:
    """The write key's prefix, from the hub's key cache (``auth.keycache``: revoking a key
    through ``userops keys revoke`` forgets it at once) or verified against the ledger."""
    hub = request.app.state.hub
    prefix, generation = hub.keys.lookup(key)
    if prefix is not None:
        return prefix

    def verify() -> str:
        with unit_of_work(hub.engine) as session:
            return auth.verify_key(session, key, needs="write").prefix

    prefix = await run_in_threadpool(verify)
    hub.keys.remember(key, prefix, generation)
    return prefix


def _header_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            user = base64.b64decode(value).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return None
        return user or None
    return None


async def _body(request: Request, limit: int) -> bytes:
    """The body, decompressed, at most ``limit`` bytes: a Content-Length over the limit is
    refused before anything is read, a longer stream as soon as it passes the limit, and
    decompression (bounded) runs in a thread so that the event loop keeps serving."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise InvalidInput("Content-Length must be a number of bytes", field="content-length")
        if int(length) > limit:
            raise PayloadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "")
    if not encoding.strip() or encoding.strip().lower() == "identity":
        return raw
    return await run_in_threadpool(inflate, raw, encoding, limit)


def _error(exc: UseropsError, headers: dict[str, str] | None = None) -> JSONResponse:
    extra = {**(errors.auth_headers(exc.status) or {}), **(headers or {})}
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.status, headers={**CORS, **extra})


def _check(
    tracker: Tracker, call: str, body: bytes, *, key: str | None, received_at: datetime
) -> Checked:
    """The tracker's check; a date so far off that the clock-skew correction overflows is a
    400 as well (the rules refuse such dates by range once they check it themselves)."""
    try:
        return tracker.check(call, body, key=key, received_at=received_at)
    except OverflowError:
        raise InvalidInput(
            "timestamp/sentAt: too far from now to correct the device's clock", field="timestamp"
        ) from None


async def _handle(call: str, request: Request) -> Response:
    received_at = utcnow()
    tracker: Tracker = request.app.state.tracker
    key = _header_key(request)
    prefix: str | None = None
    try:
        if key:
            prefix = await _verified_prefix(request, key)
        try:
            body = await _body(request, body_limit(call))
        except (InvalidInput, PayloadTooLarge):
            if prefix:
                tracker.stats.rejected(prefix, 1)  # events unknown: counted as one
            raise
        checked = _check(tracker, call, body, key=prefix, received_at=received_at)
        if prefix is None:  # the key in the body (writeKey): verify, then check with it
            if not checked.write_key:
                raise Unauthorized(
                    "a write key is required (Basic auth user name, Bearer token or writeKey)",
                    field="authorization",
                )
            prefix = await _verified_prefix(request, checked.write_key)
            checked = _check(tracker, call, body, key=prefix, received_at=received_at)
        tracker.admit(prefix, len(checked.lines))
        await tracker.accept(checked, key=prefix)
    except RateLimited as exc:
        return _error(exc, {"Retry-After": str(int(exc.retry_after))})
    except UseropsError as exc:
        return _error(exc)
    return Response(_OK, media_type="application/json", headers=CORS)


async def preflight() -> Response:
    return Response(status_code=204, headers=CORS)


def _route(call: str, path: str | None = None) -> None:
    async def endpoint(request: Request) -> Response:
        return await _handle(call, request)

    endpoint.__name__ = call if path is None else f"{call}_short"
    summary = "Batch (alias of /v1/batch)" if call == "import" else f"Segment {call} call"
    router.add_api_route(
        f"/{path or call}",
        endpoint,
        methods=["POST"],
        summary=summary if path is None else f"{summary} (analytics.js short path)",
        include_in_schema=path is None,
        responses={
            200: {"model": Accepted, "description": 'Accepted and durable: {"success": true}'},
            **errors.responses(400, 401, 403, 413, 429),
        },
        openapi_extra=_openapi(call),
    )


def _openapi(call: str) -> dict[str, Any]:
    """The body (documented from ``ingest.tracking.schemas``; the handler reads it raw) and the
    ways to present the write key: a header, or ``writeKey`` in the body (hence the ``{}``)."""
    return {
        "requestBody": {
            "required": True,
            "description": schemas.LIMITS,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{schemas.BODIES[call].__name__}"}
                }
            },
        },
        "security": [*SECURITY, {}],
    }


for _call in CALLS:
    _route(_call)
for _path, _call in SHORT.items():
    _route(_call, _path)
router.add_api_route("/{path}", preflight, methods=["OPTIONS"], include_in_schema=False)
