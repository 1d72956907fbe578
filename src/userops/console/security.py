"""Console sessions: who is signed in, where to send the others, and CSRF tokens for forms."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response


class LoginRequired(Exception):
    """Raised by :func:`current_user`; ``mount`` turns it into a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def current_user(request: Request) -> str:
    user = request.session.get("user")
    if not isinstance(user, str) or not user:
        query = request.url.query
        raise LoginRequired(f"{request.url.path}?{query}" if query else request.url.path)
    return user


CurrentUser = Annotated[str, Depends(current_user)]


def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = "/login"
    if exc.next_path not in ("", "/"):
        target += "?next=" + quote(exc.next_path, safe="/")
    if request.headers.get("hx-request"):
        # htmx would follow a 303 inside the XHR and swap the login page into a fragment.
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to; anything pointing off-site becomes ``default``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, submitted: str) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str)
        and bool(expected)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )
