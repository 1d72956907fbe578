"""Options and helpers every CLI command module shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from userops.cli.output import err, print_json
from userops.config import Settings
from userops.core.errors import UseropsError

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default: USEROPS_DATA_DIR or ./userops-data)",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def settings_for(data_dir: Path | None) -> Settings:
    try:
        return Settings(data_dir=data_dir) if data_dir else Settings()
    except ValueError as exc:
        fail(UseropsError(str(exc), field="settings"), as_json=False)
        raise


def fail(exc: UseropsError, *, as_json: bool) -> None:
    if as_json:
        print_json({"error": exc.to_dict()})
    err.print(f"[red]error:[/] {exc.message}")
    raise typer.Exit(2)
