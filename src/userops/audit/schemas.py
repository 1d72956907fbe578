"""What an audit entry and a search of the log look like, and every action code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ACTIONS: dict[str, str] = {
    "auth.login": "console sign-in succeeded",
    "auth.login_failed": "console sign-in refused (wrong password or locked)",
    "auth.logout": "console sign-out",
    "auth.password_change": "a user changed their own password",
    "user.create": "console user invited",
    "user.disable": "console user disabled (sessions ended)",
    "user.enable": "console user enabled again",
    "user.reset_password": "a user's password was reset (sessions ended)",
    "user.set_role": "a user's role changed",
    "key.create": "API key created",
    "key.revoke": "API key revoked",
    "import.run": "file imported",
    "tags.refresh": "tags recomputed and segments recorded",
    "tags.settings": "tag settings saved",
    "tags.manual_add": "manual tag added",
    "tags.manual_remove": "manual tag removed",
    "segment.create": "segment created",
    "segment.update": "segment changed",
    "segment.delete": "segment deleted",
    "segment.refresh": "segment sizes recorded",
    "customer.erase": "customer erased",
    "customer.consent": "consent recorded",
    "customer.reveal": "a customer's phone or email shown unmasked",
}
"""Action code → what it records. A new action (campaigns, coupons) is one line here and one
``audit.record`` call where it happens."""


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_kind: str
    actor: str
    action: str
    target: str | None
    before: Any | None
    after: Any | None
    request_id: str | None
    client: str | None


class AuditQuery(BaseModel):
    actor: str | None = Field(None, max_length=120)
    action: str | None = Field(None, max_length=64, description="a code, or a prefix like user.*")
    target: str | None = Field(None, max_length=200)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10_000_000)

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        """A time without an offset is read as UTC (the log is kept in UTC)."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class AuditPage(BaseModel):
    total: int
    entries: list[AuditRead]
