"""The analytics facade: every report, its query model, and parsing loose parameters.

>>> from userops.analytics import service as analytics
>>> q = analytics.parse(analytics.RetentionQuery, {"period": "week", "intervals": 13})
>>> analytics.retention(hub.warehouse, timezone="Asia/Shanghai", query=q).cohorts[0].counts
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from userops.analytics.aarrr import AarrrQuery, aarrr
from userops.analytics.channels import MODELS, ChannelsQuery, channels
from userops.analytics.common import (
    PERIODS,
    WEEK_STARTS,
    available_breakdowns,
    known_events,
    opened,
)
from userops.analytics.funnel import (
    FunnelQuery,
    Step,
    funnel,
    funnel_dropped,
    parse_step,
    parse_window,
)
from userops.analytics.magic import MagicQuery, magic_number
from userops.analytics.retention import MODES, Members, RetentionQuery, retention
from userops.core.errors import InvalidInput
from userops.warehouse import Warehouse

__all__ = [
    "MODELS",
    "MODES",
    "PERIODS",
    "REPORTS",
    "WEEK_STARTS",
    "AarrrQuery",
    "ChannelsQuery",
    "FunnelQuery",
    "MagicQuery",
    "Members",
    "RetentionQuery",
    "Step",
    "aarrr",
    "available_breakdowns",
    "channels",
    "funnel",
    "funnel_dropped",
    "known_events",
    "known_events_of",
    "magic_number",
    "parse",
    "parse_step",
    "parse_window",
    "retention",
]

Q = TypeVar("Q", bound=BaseModel)

REPORTS = ("retention", "funnel", "aarrr", "channels", "magic-number")


def known_events_of(warehouse: Warehouse) -> list[str]:
    """Behaviour event names seen in the warehouse (for pickers)."""
    with opened(warehouse) as con:
        return known_events(con)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _check_date(model: type[BaseModel], name: str, value: Any) -> None:
    """Dates are ``YYYY-MM-DD``: pydantic alone would also read ``0`` as 1970-01-01."""
    field = model.model_fields.get(name)
    if field is None or not isinstance(value, str):
        return
    if date in (field.annotation, *get_args(field.annotation)) and not _ISO_DATE.fullmatch(value):
        raise InvalidInput(f"{name}: a date YYYY-MM-DD, got {value[:40]!r}", field=name)


def parse(model: type[Q], params: dict[str, Any]) -> Q:
    """Build a query model from loose parameters (CLI, API, console); unknown or badly typed
    values become an :class:`InvalidInput` naming the field."""
    unknown = sorted(set(params) - set(model.model_fields))
    if unknown:
        raise InvalidInput(
            f"unknown parameter {unknown[0]!r}; known: {', '.join(model.model_fields)}",
            field=unknown[0],
        )
    for name, value in params.items():
        _check_date(model, name, value)
    try:
        return model.model_validate({k: v for k, v in params.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or None
        raise InvalidInput(f"{field}: {error['msg']}", field=field) from exc
