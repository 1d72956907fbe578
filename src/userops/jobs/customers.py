"""Operations on people: erasure (run in the process that owns the warehouse: the server when
one runs, so that its tracker's journal and live debugger are cleaned too)."""

from __future__ import annotations

from typing import Any

from userops.customers import erasure
from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import operation


@operation("customers.erase")
def erase(hub: Hub, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    progress("erase", 0, 1)
    result = erasure.erase(
        engine=hub.engine,
        warehouse=hub.warehouse,
        data_dir=hub.settings.resolved_data_dir,
        customer_id=str(params.get("customer_id") or ""),
        requested_by=str(params.get("requested_by") or "cli"),
        erasure_key=hub.settings.erasure_key,
        tracker=getattr(hub, "tracker", None),
    )
    progress("erase", 1, 1)
    return result
