"""Operations a CLI command can run here or hand to the running server.

An operation is a plain function ``(hub, params, progress) -> JSON-ready dict`` registered under a
name with :func:`operation`. Domain job modules register theirs; ``jobs.ops`` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from userops.hub import Hub
from userops.ingest.service import Progress

Operation = Callable[[Hub, dict[str, Any], Progress], dict[str, Any]]

OPERATIONS: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(fn: Operation) -> Operation:
        if name in OPERATIONS:
            raise ValueError(f"operation {name!r} registered twice")
        OPERATIONS[name] = fn
        return fn

    return register
