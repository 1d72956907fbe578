"""Run an operation here, or in the server that owns this data dir (see warehouse.owner).

Heavy modules (httpx, the hub, the job modules) are imported inside the functions that need
them: every command module imports this one, and ``userops --help`` must stay fast.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from userops.cli.common import stop_while_waiting
from userops.core.errors import UseropsError
from userops.warehouse import owner

if TYPE_CHECKING:
    from userops.config import Settings
    from userops.ingest.service import Progress


class RemoteError(UseropsError):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(str(payload.get("message")), field=payload.get("field"))
        self.code = str(payload.get("code", "error"))


def cli_actor() -> str:
    """Who runs this command, as the audit log names it: ``cli@host:osuser``."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli@{socket.gethostname()}:{user}"[:120]


def describe(name: str, params: dict[str, Any]) -> str:
    """How this operation is named to a process that waits for it (no file names or ids)."""
    words = ["userops", *name.split(".")]
    if name == "import" and params.get("entity"):
        words.append(str(params["entity"]))
    return " ".join(words)


def run(
    settings: Settings,
    name: str,
    params: dict[str, Any],
    progress: Progress,
    *,
    holder: str | None = None,
) -> dict[str, Any]:
    """Run ``name`` in the data dir's server if one is running, else here under the lock.
    ``stats`` is read without opening the hub (no Ibis, no migrations: a fast command)."""
    data_dir = settings.resolved_data_dir
    params = {**params, "_actor": cli_actor()}  # jobs.ops.ACTOR_PARAM: for the audit log
    server = owner.read_server(data_dir)
    if server is not None:
        return _remote(server, name, params, progress)
    holder = holder or describe(name, params)
    try:
        return _local(settings, name, params, progress, holder)
    except owner.ServerAppeared as appeared:  # a server took the data dir while we waited
        return _remote(appeared.server, name, params, progress)


def _local(
    settings: Settings, name: str, params: dict[str, Any], progress: Progress, holder: str
) -> dict[str, Any]:
    data_dir = settings.resolved_data_dir
    if name == "stats":
        from userops import shop

        if not data_dir.exists():  # nobody holds a lock there; do not create the dir
            return dict(shop.read_counts(settings))
        with (
            stop_while_waiting() as waiter,
            owner.hold(data_dir, holder=holder, on_wait=waiter, defer=True),
        ):
            waiter.acquired()
            return dict(shop.read_counts(settings))
    from userops.hub import connect
    from userops.jobs import ops

    if name == "import" and settings.warehouse_memory_limit is None:
        # an import process stays within import_memory_limit (DuckDB spills beyond its half)
        settings = settings.model_copy(
            update={"warehouse_memory_limit": settings.import_duckdb_memory_limit}
        )
    with (
        stop_while_waiting() as waiter,
        connect(settings, holder=holder, on_wait=waiter, defer=True) as hub,
    ):
        waiter.acquired()
        return ops.run(hub, name, params, progress)


def _remote(
    server: owner.ServerInfo, name: str, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    import httpx

    client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(10.0, read=None))
    headers = {"x-userops-token": server.token}
    with (
        client,
        client.stream("POST", f"/internal/ops/{name}", json=params, headers=headers) as response,
    ):
        if response.status_code != 200:
            response.read()
            raise RemoteError(response.json().get("error", {"message": response.text}))
        for line in response.iter_lines():
            if not line:
                continue
            message = json.loads(line)
            if "progress" in message:
                progress(*message["progress"])
            elif "result" in message:
                return dict(message["result"])
            elif "error" in message:
                raise RemoteError(message["error"])
    raise RemoteError({"code": "internal", "message": "the server closed the stream early"})
