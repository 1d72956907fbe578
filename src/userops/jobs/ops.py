"""Every registered operation, and running one by name.

Job modules are imported when an operation of theirs is first run, so a CLI command does not pay
for importing every domain (SciPy, implicit, …) at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import OPERATIONS

# Operation-name prefix (before the first "." or "-") → the job module that registers it.
_MODULES = {
    "import": "userops.jobs.ingest",
    "stats": "userops.jobs.ingest",
    "analytics": "userops.jobs.analytics",
    "customers": "userops.jobs.customers",
    "predict": "userops.jobs.predict",
    "recommend": "userops.jobs.recommend",
    "tags": "userops.jobs.tags",
    "segment": "userops.jobs.segments",
    "tracking": "userops.jobs.tracking",
    "keys": "userops.jobs.keys",
}


def _prefix(name: str) -> str:
    return name.replace("-", ".").split(".", 1)[0]


def load_all() -> None:
    for module in dict.fromkeys(_MODULES.values()):
        importlib.import_module(module)


def run(hub: Hub, name: str, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    module = _MODULES.get(_prefix(name))
    if module is not None:
        importlib.import_module(module)
    operation = OPERATIONS.get(name)
    if operation is None:
        load_all()
        raise InvalidInput(
            f"unknown operation {name!r}; known: {', '.join(sorted(OPERATIONS))}",
            field="operation",
        )
    return operation(hub, params, progress)
