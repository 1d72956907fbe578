"""What the customers domain hands out and takes in."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

PROFILE_FIELDS: tuple[str, ...] = (
    "name",
    "gender",
    "birthday",
    "province",
    "city",
    "occupation",
    "industry",
    "income_band",
    "interests",
    "signup_at",
    "signup_channel",
    "referrer_id",
    "timezone",
    "attributes",
)
"""Fields of a profile besides ``customer_id``, in the order files and tables use."""

MIRRORED_FIELDS: tuple[str, ...] = tuple(f for f in PROFILE_FIELDS if f != "name")
"""Profile fields copied to the warehouse for set-based tags and segments (no personal data)."""

CONTACT_KINDS: tuple[str, ...] = (
    "phone",
    "email",
    "wechat_openid",
    "wechat_unionid",
    "push_token",
    "weibo_id",
)

CONSENT_CHANNELS: dict[str, str] = {
    "sms": "phone",
    "email": "email",
    "wechat": "wechat_openid",
    "push": "push_token",
    "weibo": "weibo_id",
}
"""Delivery channel → the contact point it uses."""

CONSENT_STATUSES = ("granted", "withdrawn")
GENDERS = ("male", "female", "unknown")


class ContactPointRead(BaseModel):
    kind: str
    value: str


class ConsentRead(BaseModel):
    channel: str
    status: str
    source: str
    recorded_at: datetime


class MergeRead(BaseModel):
    from_kind: str
    from_value: str
    reason: str
    message_id: str | None
    merged_at: datetime


class ProfileRead(BaseModel):
    customer_id: str
    name: str | None = None
    gender: str | None = None
    birthday: date | None = None
    province: str | None = None
    city: str | None = None
    occupation: str | None = None
    industry: str | None = None
    income_band: str | None = None
    interests: list[str] | None = None
    signup_at: datetime | None = None
    signup_channel: str | None = None
    referrer_id: str | None = None
    timezone: str | None = None
    attributes: dict[str, Any] | None = None
    placeholder: bool = False
    merged_into: str | None = None
    created_at: datetime
    updated_at: datetime


class CustomerSummary(BaseModel):
    customer_id: str
    name: str | None
    province: str | None
    city: str | None
    signup_at: datetime | None
    signup_channel: str | None


class UpsertCounts(BaseModel):
    imported: int = 0
    updated: int = 0


class OrderRead(BaseModel):
    order_id: str
    created_at: datetime
    paid_at: datetime | None
    status: str
    amount_fen: int
    discount_fen: int
    coupon_codes: list[str] | None
    channel: str | None


class EventRead(BaseModel):
    timestamp: datetime
    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    properties: str | None
    message_id: str


class OrderTotals(BaseModel):
    orders: int
    paid_fen: int
    first_paid_at: datetime | None
    last_paid_at: datetime | None


class Customer360(BaseModel):
    profile: ProfileRead
    contact_points: list[ContactPointRead]
    consents: list[ConsentRead]
    identities: list[dict[str, str]]
    merges: list[MergeRead]
    totals: OrderTotals
    recent_orders: list[OrderRead]
    recent_events: list[EventRead]


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339_text(value: object) -> object:
    """Only an RFC 3339 date-time string (what ``format: date-time`` says) is taken: pydantic's
    lax parsing would also read a number or a numeric string as a Unix time and a bare date as
    midnight. (Pydantic's ``strict`` mode refuses every string on a parsed JSON body, so the
    rule is stated here.)"""
    if value is None:
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(
            "must be an ISO-8601 date and time with seconds and an offset, "
            "such as 2024-05-01T09:30:00+08:00"
        )
    return value


StrictAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


class ConsentWrite(BaseModel):
    """``POST /api/v1/customers/{id}/consents``: one grant or withdrawal."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["sms", "email", "wechat", "push", "weibo"] = Field(
        description="The channel the consent is for"
    )
    status: Literal["granted", "withdrawn"]
    source: str = Field(
        description="Where it was given or withdrawn (a form, a call, an unsubscribe link)",
        min_length=1,
        max_length=200,
        pattern=r"\S",
    )
    at: StrictAwareDatetime | None = Field(
        default=None,
        description="When (RFC 3339 / ISO 8601 with seconds and an offset); default: now",
    )


class ConsentChanged(BaseModel):
    customer_id: str
    consents: list[ConsentRead]


class ErasureResult(BaseModel):
    erased: bool
    subject: str
    """The keyed hash under which the person is suppressed (no personal data)."""
    erased_at: datetime
    removed: dict[str, int]
