"""API key operations. Creating a key is an operation (not a direct ledger write from the CLI) so
that, while ``userops serve`` runs, the key lands in the ledger the server reads: a printed key
is always one the running shop accepts."""

from __future__ import annotations

from typing import Any

from userops.auth import service as auth
from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import operation
from userops.ledger import unit_of_work


@operation("keys.create")
def create_key(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    with unit_of_work(hub.engine) as session:
        created = auth.create_key(
            session,
            scope=str(params["scope"]),
            name=params.get("name"),
            user=params.get("user"),
            created_by=params.get("created_by"),
        )
    return {"key": created.key, "scope": created.scope, "prefix": created.prefix}
