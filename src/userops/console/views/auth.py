"""Signing in and out of the console (admins from ``userops.auth``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from userops.auth import service as auth
from userops.console.security import csrf_ok, safe_next
from userops.console.templating import Renderer, renderer
from userops.ledger import unit_of_work

router = APIRouter(include_in_schema=False)
RendererDep = Annotated[Renderer, Depends(renderer)]


@router.get("/login")
def login_page(request: Request, console: RendererDep, next: str = "/") -> Response:
    if request.session.get("user"):
        return RedirectResponse(safe_next(next), status_code=303)
    return console.page(
        request, "auth/login.html", {"next": safe_next(next), "error": None, "username": ""}
    )


@router.post("/login")
def login(
    request: Request,
    console: RendererDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    error = None
    if not csrf_ok(request, csrf):
        error = "auth.error.expired"
    else:
        with unit_of_work(request.app.state.hub.engine) as session:
            if not auth.check_login(session, username=username.strip(), password=password):
                error = "auth.error.invalid"
    if error:
        context = {"next": safe_next(next), "error": error, "username": username}
        return console.page(request, "auth/login.html", context, status_code=401)
    lang = request.session.get("lang")
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in admin
    request.session["user"] = username.strip()
    if lang:
        request.session["lang"] = lang
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=256)] = "") -> Response:
    if csrf_ok(request, csrf):
        lang = request.session.get("lang")
        request.session.clear()
        if lang:
            request.session["lang"] = lang
    return RedirectResponse("/login", status_code=303)
