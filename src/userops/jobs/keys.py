"""API key operations. Creating and revoking a key are operations (not direct ledger writes from
the CLI) so that, while ``userops serve`` runs, they happen in the server: a printed key is always
one the running shop accepts, and a revoked key is refused from its next call on."""

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


@operation("keys.revoke")
def revoke_key(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    """Revoke in the ledger, then forget the key in this process's key cache
    (``auth.keycache``): the running server refuses it from the next call on."""
    prefix = str(params["prefix"])
    with unit_of_work(hub.engine) as session:
        revoked = auth.revoke_key(session, prefix)
    hub.keys.forget(prefix)
    return {"prefix": revoked.prefix, "revoked_at": revoked.revoked_at.isoformat()}
