"""What the customer system hands out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from userops.tags.rules import FAMILIES


class RefreshResult(BaseModel):
    as_of: datetime
    customers: int
    counts: dict[str, dict[str, int]]
    seconds: float


class CustomerTags(BaseModel):
    customer_id: str
    as_of: datetime | None
    tags: dict[str, list[str]]
    values: dict[str, Any]


class Transition(BaseModel):
    family: str
    previous_as_of: datetime | None
    as_of: datetime | None
    moves: list[dict[str, Any]]  # {"from": ..., "to": ..., "customers": n}


FAMILIES_WITH_MANUAL: tuple[str, ...] = (*FAMILIES, "manual")
"""Tag families a segment may test (``customer_tags.family``)."""
