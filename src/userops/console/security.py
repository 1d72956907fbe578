"""Console sessions: who is signed in, where to send the others, CSRF tokens for forms, and
what is believed about the client (its address and HTTPS, from a trusted proxy's headers).

The cookie (Starlette's signed session) carries a random session token, not the user: the
token counts only while its record in the ledger does (``auth.service.session_user``), so
signing out or changing the password ends every copy of the cookie (docs/decisions/0011).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from userops.audit.service import Actor
from userops.auth import service as auth
from userops.auth.roles import Permission, allows
from userops.auth.schemas import Account, LoginPolicy
from userops.config import Settings
from userops.core.clock import utcnow
from userops.ledger import unit_of_work

SESSION_TOKEN = "sid"
_UNCHECKED = object()


@dataclass(frozen=True)
class ClientTrust:
    """Which peers' forwarding headers count, and the key that turns client addresses into
    opaque throttle keys (raw addresses are personal data: never stored, never logged)."""

    trusted_proxies: frozenset[str]
    address_secret: bytes
    policy: LoginPolicy

    @classmethod
    def from_settings(cls, settings: Settings, *, secret: str) -> ClientTrust:
        return cls(
            trusted_proxies=frozenset(settings.trusted_proxies),
            address_secret=hashlib.sha256(b"userops-login-address:" + secret.encode()).digest(),
            policy=LoginPolicy.from_settings(settings),
        )

    def from_proxy(self, scope: Scope) -> bool:
        client = scope.get("client")
        return bool(client) and client[0] in self.trusted_proxies

    def is_https(self, scope: Scope) -> bool:
        """Served over HTTPS: directly, or a trusted proxy says so (``X-Forwarded-Proto``)."""
        if scope.get("scheme") in ("https", "wss"):
            return True
        if not self.from_proxy(scope):
            return False
        proto = _header(scope, b"x-forwarded-proto").split(",")[0].strip().lower()
        return proto == "https"

    def client_address(self, scope: Scope) -> str:
        """The client's address: the peer's, or, behind trusted proxies, the last address in
        ``X-Forwarded-For`` that is not one of them (the ones before it can be forged)."""
        client = scope.get("client")
        peer = client[0] if client else ""
        if peer not in self.trusted_proxies:
            return peer
        hops = [hop.strip() for hop in _header(scope, b"x-forwarded-for").split(",")]
        for hop in reversed(hops):
            if hop and hop not in self.trusted_proxies:
                return hop
        return peer

    def address_key(self, request: Request) -> str:
        address = self.client_address(request.scope)
        return hmac.new(self.address_secret, address.encode(), hashlib.sha256).hexdigest()


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def trust(request: Request) -> ClientTrust:
    found: ClientTrust = request.app.state.console_trust
    return found


class SecureCookies:
    """Adds ``Secure`` to the cookies of responses served over HTTPS (``cookie_secure=auto``):
    the session middleware's flag is fixed at start, but whether a request came through a TLS
    proxy is known only per request."""

    def __init__(self, app: ASGIApp, *, trust: ClientTrust) -> None:
        self.app = app
        self.trust = trust

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.trust.is_https(scope):
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, _with_secure(v) if k == b"set-cookie" else v)
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_secure)


def _with_secure(cookie: bytes) -> bytes:
    attributes = [part.strip().lower() for part in cookie.split(b";")[1:]]
    return cookie if b"secure" in attributes else cookie + b"; secure"


class LoginRequired(Exception):
    """Raised by :func:`current_user`; ``mount`` turns it into a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def signed_in_user(request: Request) -> str | None:
    """The user whose session this request carries, checked against the ledger once per
    request; a session that has ended (or whose user was disabled) is dropped from the cookie."""
    account = signed_in_account(request)
    return account.username if account is not None else None


def signed_in_account(request: Request) -> Account | None:
    cached = getattr(request.state, "console_account", _UNCHECKED)
    if cached is not _UNCHECKED:
        return cached  # type: ignore[no-any-return]
    token = request.session.get(SESSION_TOKEN)
    account = None
    hub = getattr(request.app.state, "hub", None)
    if isinstance(token, str) and token and hub is not None:
        with unit_of_work(hub.engine) as session:
            account = auth.session_account(session, token=token, now=utcnow())
        if account is None:
            end_cookie_session(request)
    request.state.console_account = account
    return account


def may(request: Request, permission: Permission) -> bool:
    account = signed_in_account(request)
    return account is not None and allows(account.role, permission)


class RoleRequired(Exception):
    """Raised by :func:`allow`; ``mount`` turns it into the 403 page naming the roles."""

    def __init__(self, permission: Permission, role: str) -> None:
        super().__init__(permission.value)
        self.permission = permission
        self.role = role


def allow(permission: Permission) -> Callable[[Request], Account]:
    """A dependency of a console view: the signed-in user if their role may do
    ``permission``; else the 403 page (signed out: the login page)."""

    def check(request: Request) -> Account:
        current_user(request)
        account = signed_in_account(request)
        assert account is not None
        if not allows(account.role, permission):
            raise RoleRequired(permission, account.role)
        return account

    return check


def actor(request: Request) -> Actor:
    """The audit actor of this console request: the user, the request id, the client's
    address as a keyed hash."""
    account = signed_in_account(request)
    name = account.username if account is not None else "anonymous"
    client = trust(request).address_key(request)[:16]
    given = request.headers.get("x-request-id", "")
    request_id = given if given.isalnum() and len(given) <= 64 else uuid.uuid4().hex
    return Actor("user", name, request_id=request_id, client=client)


def session_token(request: Request) -> str:
    token = request.session.get(SESSION_TOKEN)
    return token if isinstance(token, str) else ""


def start_cookie_session(request: Request, *, token: str, user: str) -> None:
    """A fresh cookie session (new CSRF token) for a new session token; the language stays."""
    end_cookie_session(request)
    request.session[SESSION_TOKEN] = token
    request.state.console_account = _UNCHECKED


def end_cookie_session(request: Request) -> None:
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    request.state.console_account = None


def current_user(request: Request) -> str:
    user = signed_in_user(request)
    if not user:
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
