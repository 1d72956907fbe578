"""Sub-command groups loaded when they are used, so ``userops --help`` imports none of them.

A group is registered by name with the module attribute of its Typer app and the one-line help
that ``userops --help`` shows without importing it (keep it equal to the app's own help).
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup


class LazyGroup(TyperGroup):
    """The top-level group: eager commands as Typer registers them, plus ``sub_apps``."""

    sub_apps: ClassVar[dict[str, tuple[str, str]]] = {}
    """name → ("module:attribute" of a ``typer.Typer``, short help)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False
        self._loaded: dict[str, _click.Command] = {}

    def list_commands(self, ctx: _click.Context) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in self.sub_apps if name not in eager)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.sub_apps:
            return command
        target, short_help = self.sub_apps[cmd_name]
        if self._listing:  # `userops --help` needs the name and the line, not the module
            return TyperCommand(cmd_name, help=short_help, short_help=short_help)
        return self._load(cmd_name, target)

    def _load(self, name: str, target: str) -> _click.Command:
        if name not in self._loaded:
            module_name, _, attribute = target.partition(":")
            sub_app = getattr(importlib.import_module(module_name), attribute)
            command = typer.main.get_command(sub_app)
            command.name = name
            self._loaded[name] = command
        return self._loaded[name]

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
