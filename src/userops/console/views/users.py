"""Console users (invite, reset a password, disable, change role), the API keys' list, and the
audit log (search and CSV export). Owners and admins only; every change is audited in the same
ledger transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from userops.audit import service as audit
from userops.audit.schemas import ACTIONS, AuditQuery
from userops.auth import service as auth
from userops.auth.roles import ROLE_ORDER, Permission
from userops.console.security import actor, allow, csrf_ok
from userops.console.templating import Renderer, renderer
from userops.core.errors import UseropsError
from userops.ledger import unit_of_work

router = APIRouter(include_in_schema=False)
RendererDep = Annotated[Renderer, Depends(renderer)]
USERS = [Depends(allow(Permission.USERS))]
AUDIT = [Depends(allow(Permission.AUDIT))]
PAGE = 50


def _users_page(
    request: Request,
    console: Renderer,
    *,
    error: str | None = None,
    created: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    hub = request.app.state.hub
    with unit_of_work(hub.engine) as session:
        users = auth.list_users(session)
        keys = auth.list_keys(session)
    context: dict[str, Any] = {
        "users": users,
        "keys": keys,
        "roles": ROLE_ORDER,
        "error": error,
        "created": created,
    }
    return console.page(
        request, "users/index.html", context, status_code=status_code, active="users"
    )


@router.get("/users", dependencies=USERS)
def users_page(request: Request, console: RendererDep) -> Response:
    return _users_page(request, console)


@router.post("/users", dependencies=USERS)
def user_action(
    request: Request,
    console: RendererDep,
    action: Annotated[str, Form(max_length=20)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """One form, one action: invite, reset, disable, enable, role. A generated password is shown
    on this answer only."""
    if not csrf_ok(request, csrf):
        return console.page(request, "tags/expired.html", {"back": "/users"}, status_code=403)
    hub = request.app.state.hub
    who = actor(request)
    created: dict[str, str] | None = None
    try:
        with unit_of_work(hub.engine) as session:
            if action == "invite":
                account, password = auth.add_user(session, username=username, role=role)
                audit.record(
                    session, who, "user.create", target=account.username, after={"role": role}
                )
                created = {"username": account.username, "password": password or ""}
            elif action == "reset":
                password = auth.reset_password(session, username)
                audit.record(session, who, "user.reset_password", target=username)
                created = {"username": username, "password": password or ""}
            elif action in ("disable", "enable"):
                before = auth.account(session, username)
                change = auth.disable_user if action == "disable" else auth.enable_user
                change(session, username)
                audit.record(
                    session,
                    who,
                    f"user.{action}",
                    target=username,
                    before={"disabled": before.disabled_at is not None},
                    after={"disabled": action == "disable"},
                )
            elif action == "role":
                _, old = auth.set_role(session, username, role)
                audit.record(
                    session,
                    who,
                    "user.set_role",
                    target=username,
                    before={"role": old},
                    after={"role": role},
                )
            else:
                return RedirectResponse("/users", status_code=303)
    except UseropsError as exc:
        code = {"conflict": 409, "not_found": 404}.get(exc.code, 422)
        return _users_page(request, console, error=exc.message, status_code=code)
    if created is not None:
        return _users_page(request, console, created=created)
    return RedirectResponse("/users?done=" + action, status_code=303)


def _query(request: Request) -> tuple[AuditQuery, dict[str, str], str | None]:
    """The audit page's filters; dates are the shop's calendar days (from 00:00 of ``since``
    to the end of ``until``)."""
    params = request.query_params
    form = {
        k: params.get(k, "").strip()[:120] for k in ("actor", "action", "target", "since", "until")
    }
    tz = request.app.state.hub.settings.tz
    bounds: dict[str, datetime | None] = {"since": None, "until": None}
    error = None
    for name in ("since", "until"):
        if form[name]:
            try:
                day = date.fromisoformat(form[name])
            except ValueError:
                error = name
                continue
            if name == "until":
                day += timedelta(days=1)
            bounds[name] = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    try:
        offset = max(0, min(int(params.get("offset", "0")), 10_000_000))
    except ValueError:
        offset = 0
    query = AuditQuery(
        actor=form["actor"] or None,
        action=form["action"] or None,
        target=form["target"] or None,
        since=bounds["since"],
        until=bounds["until"],
        limit=PAGE,
        offset=offset,
    )
    return query, form, error


@router.get("/audit", dependencies=AUDIT)
def audit_page(request: Request, console: RendererDep) -> Response:
    query, form, error = _query(request)
    hub = request.app.state.hub
    try:
        with unit_of_work(hub.engine) as session:
            page = audit.search(session, query)
    except UseropsError:
        page, error = None, "since"
    context = {
        "page": page,
        "form": form,
        "error": error,
        "actions": sorted(ACTIONS),
        "offset": query.offset,
        "page_size": PAGE,
        "export": "/audit.csv?" + urlencode({k: v for k, v in form.items() if v}),
        "more": urlencode({**{k: v for k, v in form.items() if v}, "offset": query.offset + PAGE}),
    }
    status = 422 if error else 200
    return console.page(request, "audit/index.html", context, status_code=status, active="audit")


@router.get("/audit.csv", dependencies=AUDIT)
def audit_csv(request: Request) -> Response:
    query, _form, _error = _query(request)
    with unit_of_work(request.app.state.hub.engine) as session:
        body = audit.export(session, query)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
