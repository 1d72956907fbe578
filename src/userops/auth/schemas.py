"""Scopes and what a created key looks like."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from userops.config import Settings

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
    user: str | None = None  # the console user it belongs to (None: a service key)
    role: str | None = None  # that user's role
    created_by: str | None = None
    last_used_at: datetime | None = None  # updated at most once a minute


class Account(BaseModel):
    """A console user as lists and the audit log show it (never the password hash)."""

    username: str
    role: str
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


class LoginPolicy(BaseModel):
    """Throttling and session lifetime, from the ``login_*`` and ``console_session_hours``
    settings (``LoginPolicy.from_settings``)."""

    max_failures: int = 5
    lockout_seconds: int = 60
    lockout_max_seconds: int = 3600
    session_hours: int = 7 * 24

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        return cls(
            max_failures=settings.login_max_failures,
            lockout_seconds=settings.login_lockout_seconds,
            lockout_max_seconds=settings.login_lockout_max_seconds,
            session_hours=settings.console_session_hours,
        )


class SignIn(BaseModel):
    """What became of a sign-in (or a password change, which re-checks the password).

    ``signed_in``: ``token`` is the new session's secret, for the cookie. ``wrong_password``:
    counted; ``retry_after`` > 0 if this failure locked the account or address.
    ``locked``: refused without looking at the password, for ``retry_after`` more seconds.
    """

    outcome: Literal["signed_in", "wrong_password", "locked"]
    token: str | None = None
    retry_after: int = 0
