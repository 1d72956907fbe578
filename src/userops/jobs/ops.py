"""Every registered operation, and running one by name."""

from __future__ import annotations

import importlib
from typing import Any

from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import OPERATIONS

# One line per domain job module; importing it registers its operations.
_MODULES = (
    "userops.jobs.ingest",
    "userops.jobs.analytics",
    "userops.jobs.predict",
    "userops.jobs.recommend",
    "userops.jobs.tags",
    "userops.jobs.segments",
    "userops.jobs.tracking",
)

for _module in _MODULES:
    importlib.import_module(_module)


def run(hub: Hub, name: str, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    operation = OPERATIONS.get(name)
    if operation is None:
        raise InvalidInput(
            f"unknown operation {name!r}; known: {', '.join(sorted(OPERATIONS))}",
            field="operation",
        )
    return operation(hub, params, progress)
