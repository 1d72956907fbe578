"""The Jinja2 environment and the one way views render a page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from userops import __version__
from userops.auth.roles import Permission, allows
from userops.config import Settings
from userops.console import formatting, i18n, security

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Everything a page loads comes from this server (vendored assets; no CDN). ECharts and htmx
# set inline styles from script, hence 'unsafe-inline' for styles only. Images may also come
# from the shop's own image hosts (product image URLs of the catalogue, docs/decisions/0017).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https: http:; font-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str | None  # None: not built yet, shown as "coming soon"
    permission: Permission = Permission.READ  # shown only to roles that have it


NAV: tuple[NavItem, ...] = (
    NavItem("overview", "/"),
    NavItem("customers", "/customers", Permission.CUSTOMERS_READ),
    NavItem("clv", "/clv"),
    NavItem("tags", "/tags"),
    NavItem("segments", "/segments"),
    NavItem("campaigns", None),
    NavItem("loyalty", None),
    NavItem("growth", None),
    NavItem("analytics", "/analytics"),
    NavItem("live", "/live"),
    NavItem("users", "/users", Permission.USERS),
    NavItem("audit", "/audit", Permission.AUDIT),
)


@jinja2.pass_context
def _t(
    context: jinja2.runtime.Context, key: str, default: str | None = None, **values: object
) -> str:
    return i18n.translate(context.get("lang", i18n.DEFAULT_LANGUAGE), key, default, **values)


class Renderer:
    """Holds the environment (built once in ``mount``) and renders pages with their context."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        tz = settings.tz
        env.globals["t"] = _t
        env.globals["version"] = __version__
        env.filters["fen"] = lambda fen: formatting.money(fen, settings.currency)
        env.filters["count"] = formatting.count
        env.filters["localtime"] = lambda value: formatting.local_time(value, tz)
        env.filters["mask"] = formatting.mask_contact
        env.filters["compact_json"] = formatting.compact_json
        self.templates = Jinja2Templates(env=env)

    def page(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        active: str | None = None,
    ) -> HTMLResponse:
        lang = i18n.choose(request.session.get("lang"), request.headers.get("accept-language"))
        account = security.signed_in_account(request)
        role = account.role if account is not None else None
        full = {
            "lang": lang,
            "languages": i18n.LANGUAGES,
            "user": account.username if account is not None else None,
            "role": role,
            "may": lambda permission: role is not None and allows(role, Permission(permission)),
            "csrf_token": security.csrf_token(request),
            "nav": [item for item in NAV if role is None or allows(role, item.permission)],
            "active": active,
            "timezone": self.settings.timezone,
            "path": request.url.path,
            "full_path": _full_path(request),
            **(context or {}),
        }
        response = self.templates.TemplateResponse(
            request, name, full, status_code=status_code, headers=SECURITY_HEADERS
        )
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Accept-Language, Cookie, HX-Request"
        return response


def _full_path(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def renderer(request: Request) -> Renderer:
    found: Renderer = request.app.state.console
    return found
