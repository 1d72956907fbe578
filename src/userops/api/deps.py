"""Dependencies shared by the routers: the hub, a ledger session, API-key scopes.

The two ways to present a key are declared as OpenAPI security schemes (``bearerKey``,
``basicKey``), so ``/openapi.json`` and the docs page say how to authenticate.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy.orm import Session

from userops.api import errors
from userops.audit.service import Actor
from userops.auth import service as auth
from userops.auth.roles import Permission
from userops.auth.schemas import KeyRead
from userops.core.errors import Unauthorized
from userops.hub import Hub
from userops.ledger import unit_of_work

BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearerKey",
    bearerFormat="uo_<scope>_<id>_<secret>",
    description="An API key (`userops keys create --scope read|admin|write`): "
    "`Authorization: Bearer uo_r_…`.",
)
BASIC = HTTPBasic(
    auto_error=False,
    scheme_name="basicKey",
    description="The key as the Basic-auth user name with an empty password, as Segment's and "
    "RudderStack's SDKs send their write key.",
)
SECURITY: list[dict[str, list[str]]] = [{"bearerKey": []}, {"basicKey": []}]
"""The OpenAPI ``security`` of a route behind an API key, either scheme."""


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


def get_session(hub: HubDep) -> Iterator[Session]:
    with unit_of_work(hub.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def api_key(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    basic: Annotated[HTTPBasicCredentials | None, Security(BASIC)],
) -> str:
    """The API key: ``Authorization: Bearer KEY`` or Basic with the key as user name."""
    if bearer is not None and bearer.credentials.strip():
        return bearer.credentials.strip()
    if basic is not None and basic.username:
        return basic.username
    raise Unauthorized("an API key is required (Authorization: Bearer KEY)", field="authorization")


def require(needs: str | Permission) -> Callable[..., KeyRead]:
    """A dependency: the key, if it may do ``needs`` (a permission of ``auth.roles``); else
    401/403 with the permission and the roles that have it in the error body."""

    def check(request: Request, hub: HubDep, key: Annotated[str, Depends(api_key)]) -> KeyRead:
        # its own short transaction: moving last_used_at must not hold SQLite's write lock
        # through the route, whose work may open transactions of its own
        with unit_of_work(hub.engine) as session:
            found = auth.verify_key(session, key, needs=needs)
        request.state.api_key = found
        return found

    return check


def need(permission: Permission) -> Any:
    """``key: Annotated[KeyRead, need(Permission.SEGMENTS_WRITE)]`` in a route's signature."""
    return Depends(require(permission))


ReadKey = Annotated[KeyRead, Depends(require(Permission.READ))]
AdminKey = Annotated[KeyRead, Depends(require(Permission.KEYS))]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id(request: Request) -> str:
    """The caller's ``X-Request-ID`` when it is a plain token, else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def client_key(request: Request) -> str | None:
    """The client address as the console's keyed hash (never the address itself)."""
    trust = getattr(request.app.state, "console_trust", None)
    return trust.address_key(request)[:16] if trust is not None else None


def key_actor(request: Request, key: KeyRead) -> Actor:
    """The audit actor of an API call: ``user/prefix`` for a user's key, ``prefix`` for a
    service's."""
    name = f"{key.user}/{key.prefix}" if key.user else key.prefix
    return Actor("key", name, request_id=request_id(request), client=client_key(request))


def _actor(request: Request) -> Actor:
    key = getattr(request.state, "api_key", None)
    if key is None:
        raise Unauthorized("an API key is required", field="authorization")
    return key_actor(request, key)


ActorDep = Annotated[Actor, Depends(_actor)]
"""The audit actor of this call; list it after the key dependency in the signature."""
AUTH_ERRORS = errors.responses(*errors.AUTH)
