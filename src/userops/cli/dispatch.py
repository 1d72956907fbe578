"""Run an operation here, or in the server that owns this data dir (see warehouse.owner)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from userops.cli.output import err
from userops.config import Settings
from userops.core.errors import UseropsError
from userops.hub import connect
from userops.ingest.service import Progress
from userops.jobs import ops
from userops.warehouse import owner


class RemoteError(UseropsError):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(str(payload.get("message")), field=payload.get("field"))
        self.code = str(payload.get("code", "error"))


def run(
    settings: Settings, name: str, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    data_dir = settings.ensure_data_dir()
    server = owner.read_server(data_dir)
    if server is not None:
        return _remote(server, name, params, progress)
    with connect(
        settings,
        on_wait=lambda: err.print(
            "[yellow]another userops command is using this data dir; waiting…[/]"
        ),
    ) as hub:
        return ops.run(hub, name, params, progress)


def _remote(
    server: owner.ServerInfo, name: str, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
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
