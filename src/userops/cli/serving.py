"""``userops serve``: take the data dir, prepare the first admin, then run uvicorn on the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from userops.cli.common import stop_while_waiting
from userops.cli.output import out

if TYPE_CHECKING:
    from userops.config import Settings


def prepare_admin(settings: Settings) -> str | None:
    """Create the first admin if there is none; returns a generated password (shown once)."""
    from userops.auth import service as auth
    from userops.ledger import engine_from, migrate, unit_of_work

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
    """Serve until Ctrl-C or SIGTERM. The warehouse lock is taken here, before anything is
    printed: while another command holds the data dir, ``serve`` says which one it waits for
    and a signal stops the wait at once (the app's start-up then re-enters the held lock)."""
    from userops.warehouse import owner

    url = console_url(host, port)
    data_dir = settings.ensure_data_dir()
    with (
        stop_while_waiting() as waiter,
        owner.hold(data_dir, holder=f"userops serve ({url})", on_wait=waiter),
    ):
        waiter.acquired()
        import uvicorn  # after the wait: the app's imports take a while

        from userops.server import create_app

        generated = prepare_admin(settings)
        app = create_app(settings, public_url=url)
        out.print(f"[bold green]userops console:[/] {url}/   API docs: {url}/docs")
        if generated:
            out.print(
                f"[bold]first admin created[/]: user [cyan]admin[/], password "
                f"[cyan]{generated}[/] (shown once; stored argon2-hashed)"
            )
        uvicorn.run(app, host=host, port=port, log_level="warning")
