"""Dependencies shared by the routers: the hub, a ledger session, API-key scopes."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from userops.auth import service as auth
from userops.auth.schemas import KeyRead
from userops.core.errors import Unauthorized
from userops.hub import Hub
from userops.ledger import unit_of_work


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


def get_session(hub: HubDep) -> Iterator[Session]:
    with unit_of_work(hub.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def bearer_key(request: Request) -> str:
    """The API key: ``Authorization: Bearer KEY`` or Basic with the key as user name."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            user = base64.b64decode(value).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            user = ""
        if user:
            return user
    raise Unauthorized("an API key is required (Authorization: Bearer KEY)", field="authorization")


def require(scope: str) -> Callable[..., KeyRead]:
    def check(request: Request, session: SessionDep) -> KeyRead:
        return auth.verify_key(session, bearer_key(request), needs=scope)

    return check


ReadKey = Annotated[KeyRead, Depends(require("read"))]
AdminKey = Annotated[KeyRead, Depends(require("admin"))]
