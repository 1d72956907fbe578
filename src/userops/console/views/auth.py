"""Signing in and out of the console, and changing the password (``userops.auth``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from userops.audit import service as audit
from userops.auth import service as auth
from userops.auth.schemas import SignIn
from userops.console import security
from userops.console.security import ClientTrust, CurrentUser, csrf_ok, safe_next, trust
from userops.console.templating import Renderer, renderer
from userops.core.clock import utcnow
from userops.core.errors import InvalidInput
from userops.ledger import unit_of_work

router = APIRouter(include_in_schema=False)
RendererDep = Annotated[Renderer, Depends(renderer)]
TrustDep = Annotated[ClientTrust, Depends(trust)]
PASSWORD_PAGE = "auth/password.html"


@router.get("/login")
def login_page(request: Request, console: RendererDep, next: str = "/") -> Response:
    if security.signed_in_user(request):
        return RedirectResponse(safe_next(next), status_code=303)
    return console.page(
        request, "auth/login.html", {"next": safe_next(next), "error": None, "username": ""}
    )


@router.post("/login")
def login(
    request: Request,
    console: RendererDep,
    client: TrustDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    context: dict[str, Any] = {"next": safe_next(next), "username": username}
    if not csrf_ok(request, csrf):
        return console.page(
            request, "auth/login.html", {**context, "error": "auth.error.expired"}, status_code=401
        )
    with unit_of_work(request.app.state.hub.engine) as session:
        result = auth.sign_in(
            session,
            username=username,
            password=password,
            address=client.address_key(request),
            now=utcnow(),
            policy=client.policy,
        )
        # a name that is no account is not recorded (it may be a mistyped password)
        name = username.strip()
        known = auth.exists(session, name)
        audit.record(
            session,
            replace(security.actor(request), name=name if known else "unknown"),
            "auth.login" if result.outcome == "signed_in" else "auth.login_failed",
            target=name if known else None,
            after={"outcome": result.outcome},
        )
    if result.outcome != "signed_in" or result.token is None:
        return _refused(request, console, "auth/login.html", context, result)
    security.start_cookie_session(request, token=result.token, user=username.strip())
    return RedirectResponse(safe_next(next), status_code=303)


def _refused(
    request: Request,
    console: Renderer,
    template: str,
    context: dict[str, Any],
    result: SignIn,
    *,
    wrong: str = "auth.error.invalid",
) -> Response:
    """A wrong password is 401; a locked account or address is 429 with ``Retry-After``."""
    error = "auth.error.locked" if result.outcome == "locked" else wrong
    page = console.page(
        request,
        template,
        {**context, "error": error, "retry_minutes": -(-result.retry_after // 60)},
        status_code=429 if result.outcome == "locked" else 401,
    )
    if result.retry_after:
        page.headers["Retry-After"] = str(result.retry_after)
    return page


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=256)] = "") -> Response:
    if csrf_ok(request, csrf):
        token = security.session_token(request)
        hub = getattr(request.app.state, "hub", None)
        if token and hub is not None:
            who = security.actor(request)
            with unit_of_work(hub.engine) as session:
                auth.end_session(session, token=token, now=utcnow())
                audit.record(session, who, "auth.logout", target=who.name)
        security.end_cookie_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password")
def password_page(request: Request, console: RendererDep, user: CurrentUser) -> Response:
    return console.page(request, PASSWORD_PAGE, {"error": None, "field": None, "done": False})


@router.post("/account/password")
def change_password(
    request: Request,
    console: RendererDep,
    client: TrustDep,
    user: CurrentUser,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    confirm_password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    def again(error: str, field: str | None, status_code: int) -> Response:
        context = {"error": error, "field": field, "done": False}
        return console.page(request, PASSWORD_PAGE, context, status_code=status_code)

    if not csrf_ok(request, csrf):
        return again("auth.error.expired", None, 400)
    if new_password != confirm_password:
        return again("auth.error.mismatch", "confirm_password", 422)
    try:
        with unit_of_work(request.app.state.hub.engine) as session:
            result = auth.change_password(
                session,
                token=security.session_token(request),
                current=current_password,
                new=new_password,
                address=client.address_key(request),
                now=utcnow(),
                policy=client.policy,
            )
            audit.record(
                session,
                security.actor(request),
                "auth.password_change",
                target=user,
                after={"outcome": result.outcome},
            )
    except InvalidInput:
        return again("auth.error.too_short", "new_password", 422)
    if result.outcome != "signed_in" or result.token is None:
        context = {"field": "current_password", "done": False}
        return _refused(
            request, console, PASSWORD_PAGE, context, result, wrong="auth.error.current_wrong"
        )
    security.start_cookie_session(request, token=result.token, user=user)
    return console.page(request, PASSWORD_PAGE, {"error": None, "field": None, "done": True})
