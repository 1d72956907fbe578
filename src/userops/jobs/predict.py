"""Operations of predict: fit (and score), show one customer, evaluate on a holdout."""

from __future__ import annotations

from datetime import date
from typing import Any

from userops.core.errors import InvalidInput
from userops.hub import Hub
from userops.ingest.service import Progress
from userops.jobs.registry import operation
from userops.predict import service as predict


def _day(params: dict[str, Any], name: str, *, required: bool = False) -> date | None:
    value = params.get(name)
    if not value:
        if required:
            raise InvalidInput(f"--{name.replace('_', '-')} is required", field=name)
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(
            f"--{name.replace('_', '-')} needs a date YYYY-MM-DD, got {value!r}", field=name
        ) from exc


def _unit(params: dict[str, Any]) -> Any:
    unit = params.get("time_unit")
    if unit not in (None, "day", "week"):
        raise InvalidInput(f"--time-unit must be day or week, got {unit!r}", field="time_unit")
    return unit


@operation("predict.fit")
def fit(hub: Hub, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    report = predict.fit(
        hub.warehouse,
        data_dir=hub.settings.resolved_data_dir,
        timezone=hub.settings.timezone,
        calibration_end=_day(params, "calibration_end"),
        time_unit=_unit(params),
        progress=progress,
    )
    return report.model_dump(mode="json")


@operation("predict.show")
def show(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    return predict.show(hub.warehouse, str(params["customer_id"])).model_dump(mode="json")


@operation("predict.evaluate")
def evaluate(hub: Hub, params: dict[str, Any], _progress: Progress) -> dict[str, Any]:
    result = predict.evaluate(
        hub.warehouse,
        timezone=hub.settings.timezone,
        calibration_end=_day(params, "calibration_end", required=True),  # type: ignore[arg-type]
        holdout_end=_day(params, "holdout_end", required=True),  # type: ignore[arg-type]
        time_unit=_unit(params) or "week",
    )
    return result.model_dump(mode="json")
