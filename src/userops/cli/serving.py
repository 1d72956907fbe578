"""``userops serve``: prepare the first admin, then run uvicorn on the server app."""

from __future__ import annotations

import uvicorn

from userops.auth import service as auth
from userops.cli.output import out
from userops.config import Settings
from userops.ledger import engine_from, migrate, unit_of_work


def prepare_admin(settings: Settings) -> str | None:
    """Create the first admin if there is none; returns a generated password (shown once)."""
    engine = engine_from(settings)
    migrate(engine)
    with unit_of_work(engine) as session:
        generated = auth.ensure_first_admin(session, password=settings.admin_password)
    engine.dispose()
    return generated


def console_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    return f"http://{shown}:{port}"


def run_server(settings: Settings, *, host: str, port: int) -> None:
    from userops.server import create_app

    generated = prepare_admin(settings)
    url = console_url(host, port)
    out.print(f"[bold green]userops console:[/] {url}/   API docs: {url}/docs")
    if generated:
        out.print(
            f"[bold]first admin created[/]: user [cyan]admin[/], password "
            f"[cyan]{generated}[/] (shown once; stored argon2-hashed)"
        )
    uvicorn.run(create_app(settings, public_url=url), host=host, port=port, log_level="warning")
