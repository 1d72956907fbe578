"""Every registered operation, and running one by name.

Job modules are imported when an operation of theirs is first run, so a CLI command does not pay
for importing every domain (SciPy, implicit, …) at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from userops.audit import service as audit
from userops.audit.service import SYSTEM, Actor
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


@dataclass(frozen=True)
class Audited:
    """How a state-changing operation is written to the audit log: its action code, the target
    (from the params and the result) and what the entry keeps of the result."""

    action: str | Callable[[dict[str, Any]], str]
    target: Callable[[dict[str, Any], dict[str, Any]], str | None] = lambda p, r: None
    after: Callable[[dict[str, Any], dict[str, Any]], Any] = lambda p, r: r


def _counts(params: dict[str, Any], result: dict[str, Any]) -> Any:
    return {"entity": params.get("entity"), "result": result}


AUDITED: dict[str, Audited] = {
    "import": Audited("import.run", lambda p, r: str(p.get("entity")), _counts),
    "tags.refresh": Audited("tags.refresh"),
    "tags.manual": Audited(
        lambda p: "tags.manual_remove" if p.get("remove") else "tags.manual_add",
        lambda p, r: str(p.get("tag")),
        lambda p, r: {"ids": list(p.get("customer_ids") or [])[:100], "result": r},
    ),
    "segment.create": Audited(
        lambda p: "segment.update" if p.get("replace") else "segment.create",
        lambda p, r: str(p.get("name")),
        lambda p, r: {"rule": p.get("rule"), "description": p.get("description")},
    ),
    "segment.delete": Audited("segment.delete", lambda p, r: str(p.get("name")), lambda p, r: None),
    "customers.erase": Audited(
        "customer.erase", lambda p, r: r.get("subject"), lambda p, r: {"removed": r.get("removed")}
    ),
    "keys.create": Audited(
        "key.create",
        lambda p, r: r.get("prefix"),
        lambda p, r: {"scope": r.get("scope"), "user": p.get("user"), "service": p.get("name")},
    ),
    "keys.revoke": Audited(
        "key.revoke", lambda p, r: r.get("prefix"), lambda p, r: {"revoked_at": r.get("revoked_at")}
    ),
}
"""Operation → its audit entry. A new state-changing operation is one line here."""

ACTOR_PARAM = "_actor"
"""The CLI passes who runs it (``cli@host:user``) under this key; it is not an input."""


def run(hub: Hub, name: str, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    params = dict(params)
    actor_name = str(params.pop(ACTOR_PARAM, "") or "")
    if name == "keys.create" and actor_name:
        params.setdefault("created_by", actor_name)
    result = _run(hub, name, params, progress)
    spec = AUDITED.get(name)
    if spec is not None:
        action = spec.action(params) if callable(spec.action) else spec.action
        actor = Actor("cli", actor_name) if actor_name else SYSTEM
        audit.record_now(
            hub.engine,
            actor,
            action,
            target=spec.target(params, result),
            after=spec.after(params, result),
        )
    return result


def _run(hub: Hub, name: str, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
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
