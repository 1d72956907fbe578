"""``userops customers …``: people (erasure)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from userops.cli import dispatch
from userops.cli.common import DataDir, Json, fail, settings_for
from userops.cli.output import StepProgress, out, print_json
from userops.core.errors import UseropsError

customers_app = typer.Typer(help="Customers: erasure of a person.", no_args_is_help=True)


@customers_app.callback()
def _group() -> None:
    """Customers: erasure of a person."""  # keeps `erase` a sub-command of a one-command group


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@customers_app.command("erase")
def erase(
    customer_id: Annotated[str, typer.Argument(help="Any id of the person (customer or user id)")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Erase a person everywhere (PIPL art. 47, GDPR art. 17); keeps only keyed hashes of their
    ids so that they are not imported again. Cannot be undone."""
    settings = settings_for(data_dir)
    if not yes and sys.stdin.isatty():
        typer.confirm(
            f"Erase {customer_id} and everything about them from every store? This cannot be "
            "undone",
            abort=True,
        )
    params = {"customer_id": customer_id, "requested_by": _who()}
    try:
        with StepProgress(enabled=not as_json and sys.stderr.isatty()) as bar:
            result = dispatch.run(settings, "customers.erase", params, bar)
    except UseropsError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        print_json(result)
        return
    removed = result["removed"]
    out.print(
        f"[bold]erased[/] {customer_id}: {removed.get('events', 0)} events, "
        f"{removed.get('orders', 0)} orders, {removed.get('profiles', 0)} profiles; "
        f"suppressed as {result['subject'][:12]}…"
    )
