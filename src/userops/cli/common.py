"""Options and helpers every CLI command module shares.

Only Typer and Rich are imported here: every command module imports this one, and
``userops --help`` must not pay for pydantic-settings, the ledger or the warehouse.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from userops.cli.output import err, print_json
from userops.core.errors import UseropsError

if TYPE_CHECKING:
    from userops.config import Settings
    from userops.warehouse.owner import Holder

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default: USEROPS_DATA_DIR or ./userops-data)",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def settings_for(data_dir: Path | None, *, as_json: bool = False, create: bool = False) -> Settings:
    """The settings of the shop this command works on. Unless ``create`` (demo, serve, init),
    the data dir must already hold a shop: nothing is created where none was found."""
    from userops.config import Settings, require_data_dir

    try:
        settings = Settings(data_dir=data_dir) if data_dir else Settings()
    except ValueError as exc:
        fail(UseropsError(str(exc), field="settings"), as_json=as_json)
        raise
    if not create:
        try:
            require_data_dir(settings)
        except UseropsError as exc:
            fail(exc, as_json=as_json)
    return settings


def fail(exc: UseropsError, *, as_json: bool) -> None:
    if as_json:
        print_json({"error": exc.to_dict()})
    err.print(f"[red]error:[/] {exc.message}")
    raise typer.Exit(2)


def say_waiting(holder: Holder | None) -> None:
    """What a command that finds the data dir busy prints before it waits."""
    what = holder.describe() if holder else "another userops command"
    err.print(
        f"[yellow]waiting for {what} to finish with this data dir…[/] (Ctrl-C or SIGTERM stops)"
    )


class Stopped(UseropsError):
    """A signal ended a command while it was waiting for the data dir (nothing was done)."""

    code = "stopped"

    def __init__(self, holder: Holder | None) -> None:
        what = holder.describe() if holder else "another userops command"
        super().__init__(f"stopped while waiting for {what}; nothing was done")


class Waiter:
    """The ``on_wait`` of ``warehouse.owner.hold`` for a CLI command: says what it waits for and
    remembers that it is waiting, so that an interrupt then becomes a clean :class:`Stopped`."""

    def __init__(self) -> None:
        self.waiting = False
        self.holder: Holder | None = None

    def __call__(self, holder: Holder | None) -> None:
        self.waiting, self.holder = True, holder
        say_waiting(holder)

    def acquired(self) -> None:
        self.waiting = False


@contextmanager
def stop_while_waiting() -> Iterator[Waiter]:
    """Ctrl-C or SIGTERM (see :func:`stop_on_sigterm`) during the wait raises :class:`Stopped`;
    later, the interrupt goes its usual way (transactions roll back)."""
    waiter = Waiter()
    try:
        yield waiter
    except KeyboardInterrupt:
        if not waiter.waiting:
            raise
        raise Stopped(waiter.holder) from None


def stop_on_sigterm() -> None:
    """Make SIGTERM end a command the way Ctrl-C does (rollbacks, a message) instead of killing
    the process mid-write. uvicorn installs its own handlers while it serves."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)
