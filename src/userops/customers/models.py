"""Ledger tables of the customers domain: profiles, contact points, consent, identities, merges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from userops.ledger.engine import LedgerBase
from userops.ledger.types import JSONValue, UTCDateTime


class Customer(LedgerBase):
    """A person. ``customer_id`` is the shop's own (external) id and the key everywhere."""

    __tablename__ = "customers"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    gender: Mapped[str | None] = mapped_column(String(16))
    birthday: Mapped[date | None] = mapped_column(Date)
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    occupation: Mapped[str | None] = mapped_column(String(128))
    industry: Mapped[str | None] = mapped_column(String(128))
    income_band: Mapped[str | None] = mapped_column(String(64))
    interests: Mapped[list[str] | None] = mapped_column(JSONValue)
    signup_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signup_channel: Mapped[str | None] = mapped_column(String(64))
    referrer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    """Created because an order or event named it; filled when a profile arrives."""
    merged_into: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContactPoint(LedgerBase):
    """One way to reach a customer. Personal data: never logged, erased with the person."""

    __tablename__ = "contact_points"
    __table_args__ = (
        UniqueConstraint("customer_id", "kind"),
        Index("ix_contact_points_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Consent(LedgerBase):
    """The current consent of one customer for one channel (the newest ConsentEvent)."""

    __tablename__ = "consents"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsentEvent(LedgerBase):
    """Append-only history of consent changes: what, from where, when."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Identity(LedgerBase):
    """An id under which a customer sends events: their user id, an anonymous id, an alias."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # anonymous_id | user_id
    value: Mapped[str] = mapped_column(String(256))
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.customer_id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(200))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Merge(LedgerBase):
    """A record that one id or customer was merged into another; never deleted by later merges."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    into_customer_id: Mapped[str] = mapped_column(String(128), index=True)
    from_kind: Mapped[str] = mapped_column(String(16))  # anonymous_id | user_id
    from_value: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(String(32))  # identify | alias
    message_id: Mapped[str | None] = mapped_column(String(200))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Suppression(LedgerBase):
    """A keyed hash (HMAC-SHA256) of one id or contact point of an erased person. Re-ingest of
    a suppressed id is refused and a suppressed phone or email is not stored again; the row
    itself holds no personal data (see docs/privacy.md)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("kind", "digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # id | phone | email | wechat_openid | …
    digest: Mapped[str] = mapped_column(String(64))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Erasure(LedgerBase):
    """Audit of one erasure: who asked, when, the keyed hash of the customer id, and how many
    rows each store lost (counts only, no personal data)."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_digest: Mapped[str] = mapped_column(String(64), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
