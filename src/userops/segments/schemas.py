"""What the segments domain hands out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class SegmentRead(BaseModel):
    name: str
    description: str | None
    rule: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Preview(BaseModel):
    count: int
    sample: list[str]


class SizePoint(BaseModel):
    as_of: datetime
    size: int
    entered: int
    left: int
