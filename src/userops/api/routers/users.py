"""Console users, API keys and the audit log over HTTP (keys whose role may manage them).

Every change here is written to the audit log in the same ledger transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, Field

from userops.api.deps import AUTH_ERRORS, ActorDep, SessionDep, need
from userops.api.errors import responses
from userops.audit import service as audit
from userops.audit.schemas import AuditPage, AuditQuery
from userops.auth import service as auth
from userops.auth.roles import ROLE_ORDER, Permission
from userops.auth.schemas import Account, KeyRead

router = APIRouter(prefix="/api/v1", tags=["users-and-audit"], responses=AUTH_ERRORS)
UsersKey = Annotated[KeyRead, need(Permission.USERS)]
KeysKey = Annotated[KeyRead, need(Permission.KEYS)]
AuditKey = Annotated[KeyRead, need(Permission.AUDIT)]
Role = Literal[ROLE_ORDER]  # type: ignore[valid-type]
Username = Annotated[str, Field(min_length=1, max_length=64)]


def _not_a_number(value: object) -> object:
    """Pydantic would read ``0.5`` as a Unix time; the API takes ISO 8601 date-times only."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("an ISO 8601 date-time is required, not a number")
    return value


Instant = Annotated[datetime, BeforeValidator(_not_a_number)]


class NewUser(BaseModel):
    username: Username
    role: Role
    password: str | None = Field(
        None, min_length=8, max_length=1024, description="omit for a one-time password"
    )


class UserCreated(BaseModel):
    user: Account
    password: str | None = Field(description="the generated one-time password, shown once")


class PasswordReset(BaseModel):
    username: str
    password: str | None = Field(description="the generated one-time password, shown once")


class NewKey(BaseModel):
    scope: Literal["read", "write", "admin"]
    name: str | None = Field(None, max_length=100)
    user: str | None = Field(None, max_length=64, description="the console user it belongs to")


class KeyCreated(BaseModel):
    key: str = Field(description="the whole key, shown once; only its hash is stored")
    prefix: str
    scope: str


@router.get("/users", response_model=list[Account])
def list_users(session: SessionDep, _key: UsersKey) -> list[Account]:
    return auth.list_users(session)


@router.post("/users", response_model=UserCreated, status_code=201, responses=responses(400, 409))
def add_user(body: NewUser, session: SessionDep, _key: UsersKey, actor: ActorDep) -> UserCreated:
    created, password = auth.add_user(
        session, username=body.username, role=body.role, password=body.password
    )
    audit.record(session, actor, "user.create", target=created.username, after={"role": body.role})
    return UserCreated(user=created, password=password)


@router.post("/users/{username}/disable", response_model=Account, responses=responses(404, 409))
def disable_user(username: str, session: SessionDep, _key: UsersKey, actor: ActorDep) -> Account:
    """Disable a user: their console sessions end and their API keys stop working."""
    before = auth.account(session, username)
    after = auth.disable_user(session, username)
    audit.record(
        session,
        actor,
        "user.disable",
        target=after.username,
        before={"disabled": before.disabled_at is not None},
        after={"disabled": True},
    )
    return after


@router.post("/users/{username}/enable", response_model=Account, responses=responses(404))
def enable_user(username: str, session: SessionDep, _key: UsersKey, actor: ActorDep) -> Account:
    before = auth.account(session, username)
    after = auth.enable_user(session, username)
    audit.record(
        session,
        actor,
        "user.enable",
        target=after.username,
        before={"disabled": before.disabled_at is not None},
        after={"disabled": False},
    )
    return after


@router.post(
    "/users/{username}/reset-password", response_model=PasswordReset, responses=responses(400, 404)
)
def reset_password(
    username: str, session: SessionDep, _key: UsersKey, actor: ActorDep
) -> PasswordReset:
    """A one-time password for the user; their sessions end."""
    password = auth.reset_password(session, username)
    audit.record(session, actor, "user.reset_password", target=username)
    return PasswordReset(username=username, password=password)


@router.put("/users/{username}/role", response_model=Account, responses=responses(400, 404, 409))
def set_role(
    username: str,
    session: SessionDep,
    _key: UsersKey,
    actor: ActorDep,
    role: Annotated[Role, Body(embed=True)],
) -> Account:
    account, before = auth.set_role(session, username, role)
    audit.record(
        session,
        actor,
        "user.set_role",
        target=username,
        before={"role": before},
        after={"role": role},
    )
    return account


@router.get("/keys", response_model=list[KeyRead])
def list_keys(session: SessionDep, _key: KeysKey) -> list[KeyRead]:
    return auth.list_keys(session)


@router.post(
    "/keys", response_model=KeyCreated, status_code=201, responses=responses(400, 404, 409)
)
def create_key(body: NewKey, session: SessionDep, _key: KeysKey, actor: ActorDep) -> KeyCreated:
    created = auth.create_key(
        session, scope=body.scope, name=body.name, user=body.user, created_by=actor.name
    )
    audit.record(
        session,
        actor,
        "key.create",
        target=created.prefix,
        after={"scope": body.scope, "user": body.user, "service": body.name},
    )
    return KeyCreated(key=created.key, prefix=created.prefix, scope=created.scope)


@router.delete("/keys/{prefix}", response_model=KeyRead, responses=responses(404))
def revoke_key(prefix: str, session: SessionDep, _key: KeysKey, actor: ActorDep) -> KeyRead:
    revoked = auth.revoke_key(session, prefix)
    audit.record(session, actor, "key.revoke", target=prefix)
    return revoked


@router.get(
    "/audit",
    response_model=AuditPage,
    responses={**responses(400), 200: {"content": {"text/csv": {}}}},
)
def audit_log(
    session: SessionDep,
    _key: AuditKey,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    action: Annotated[str | None, Query(max_length=64, description="code, or prefix.*")] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[Instant | None, Query(description="from this instant (ISO 8601)")] = None,
    until: Annotated[Instant | None, Query(description="before this instant")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> AuditPage | Response:
    """Search the audit log, newest first; ``format=csv`` exports every match (up to 100,000)."""
    query = AuditQuery(
        actor=actor,
        action=action,
        target=target,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    if format == "csv":
        return Response(
            audit.export(session, query),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    return audit.search(session, query)
