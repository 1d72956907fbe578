"""``/docs``: Swagger UI served from the package, so the API docs work without internet.

The assets are vendored from npm ``swagger-ui-dist`` (pinned; see
``console/static/vendor/VERSIONS.md``) and served by the same ``/static`` mount as the console's
ECharts. FastAPI's built-in page loads them from a CDN and its favicon from fastapi.tiangolo.com,
so the server turns it off (``docs_url=None``) and this router serves the page instead. ReDoc is
turned off as well: one documentation page, vendored, instead of a second one that needs Google
Fonts and another 1 MB bundle.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"

# The page's only inline script starts Swagger UI; everything else (assets, the spec, "Try it
# out" requests) comes from this server, and the policy makes sure nothing else is fetched.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} · API",
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
        # Swagger UI otherwise shows a badge image fetched from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers.update(DOCS_HEADERS)
    return page
