"""Ledger tables of auth. Secrets are stored only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from userops.ledger.engine import LedgerBase
from userops.ledger.types import UTCDateTime


class AdminUser(LedgerBase):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    role: Mapped[str] = mapped_column(String(16), server_default="owner")  # auth.roles.ROLES
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKey(LedgerBase):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)  # shown in lists, not secret
    key_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the whole key
    scope: Mapped[str] = mapped_column(String(16))  # read | write | admin
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A key belongs to a console user (it may do no more than the user's role, and nothing once
    # the user is disabled) or, with no user, to a service called ``name``.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"), index=True)
    created_by: Mapped[str | None] = mapped_column(String(120))  # an audit actor
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # to the minute


class ConsoleSession(LedgerBase):
    """One console sign-in. The cookie carries a random token; only its SHA-256 is kept, and
    the session counts only while this row says so (signing out or a new password ends it)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(LedgerBase):
    """Failed sign-ins in a row for one account name or one client address (a keyed hash of it,
    never the address itself), and until when it is locked out."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # account | address
    key: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
