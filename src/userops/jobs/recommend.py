"""Operations of recommend: train (and store every list), show one customer, evaluate."""

from __future__ import annotations

from typing import Any

from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import operation
from userops.recommend import service as recommend


@operation("recommend.train")
def train(hub: Hub, _params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    report = recommend.train(
        hub.warehouse, data_dir=hub.settings.resolved_data_dir, progress=progress
    )
    return report.model_dump(mode="json")


@operation("recommend.show")
def show(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    try:
        k = int(params.get("k") or 10)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"k must be a whole number, got {params.get('k')!r}", field="k") from exc
    found = recommend.recommendations(hub.warehouse, str(params["customer_id"]), k=k)
    return found.model_dump(mode="json")


@operation("recommend.evaluate")
def evaluate(hub: Hub, _params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    report = recommend.evaluate(hub.warehouse, data_dir=hub.settings.resolved_data_dir)
    return report.model_dump(mode="json")
