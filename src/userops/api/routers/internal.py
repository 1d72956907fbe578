"""Work handed over by CLI commands of the same data dir while the server owns the warehouse.

Authenticated by the token the server wrote to ``server.json`` (readable only by the data dir's
owner). The answer streams newline-delimited JSON: progress lines, then a result or an error.
"""

from __future__ import annotations

import hmac
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from userops.api.deps import HubDep
from userops.core.errors import Unauthorized, UseropsError
from userops.jobs import ops

router = APIRouter(prefix="/internal", include_in_schema=False)


@router.post("/ops/{name}")
async def run_operation(name: str, request: Request, hub: HubDep) -> StreamingResponse:
    token = request.headers.get("x-userops-token", "")
    if not hmac.compare_digest(token, request.app.state.local_token or "\0"):
        raise Unauthorized("local token required", field="x-userops-token")
    params: dict[str, Any] = await request.json()
    lines: queue.Queue[str | None] = queue.Queue()

    def progress(step: str, done: int, total: int | None) -> None:
        lines.put(json.dumps({"progress": [step, done, total]}) + "\n")

    def work() -> None:
        try:
            result = ops.run(hub, name, params, progress)
            lines.put(json.dumps({"result": result}, default=str) + "\n")
        except UseropsError as exc:
            lines.put(json.dumps({"error": exc.to_dict()}) + "\n")
        except Exception as exc:  # reported to the CLI, which exits non-zero
            lines.put(
                json.dumps({"error": {"code": "internal", "message": repr(exc), "field": None}})
                + "\n"
            )
        finally:
            lines.put(None)

    threading.Thread(target=work, name=f"op-{name}", daemon=True).start()

    def stream() -> Iterator[str]:
        while (line := lines.get()) is not None:
            yield line

    return StreamingResponse(stream(), media_type="application/x-ndjson")
