"""The ``userops`` command line (Typer)."""

from __future__ import annotations

from userops.cli.main import app, main

__all__ = ["app", "main"]
