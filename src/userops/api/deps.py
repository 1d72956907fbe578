"""Dependencies shared by the routers: the hub, a ledger session, API-key scopes.

The two ways to present a key are declared as OpenAPI security schemes (``bearerKey``,
``basicKey``), so ``/openapi.json`` and the docs page say how to authenticate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy.orm import Session

from userops.api import errors
from userops.auth import service as auth
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


def require(scope: str) -> Callable[..., KeyRead]:
    def check(session: SessionDep, key: Annotated[str, Depends(api_key)]) -> KeyRead:
        return auth.verify_key(session, key, needs=scope)

    return check


ReadKey = Annotated[KeyRead, Depends(require("read"))]
AdminKey = Annotated[KeyRead, Depends(require("admin"))]
AUTH_ERRORS = errors.responses(*errors.AUTH)
