"""Scopes and what a created key looks like."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

SCOPES = ("read", "write", "admin")
"""read: query the API; write: ingest only; admin: everything, including keys."""


class CreatedKey(BaseModel):
    key: str
    scope: str
    prefix: str


class KeyRead(BaseModel):
    prefix: str
    scope: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None
