"""API keys (stored as SHA-256 hashes) and console admins (argon2id password hashes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from userops.auth.models import AdminUser, ApiKey
from userops.auth.schemas import SCOPES, CreatedKey, KeyRead
from userops.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized

_hasher = PasswordHasher()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, *, scope: str, name: str | None = None) -> CreatedKey:
    """A new key; the full key is returned this once and only its hash is stored."""
    if scope not in SCOPES:
        raise InvalidInput(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}", field="scope")
    prefix = f"uo_{scope[0]}_{secrets.token_hex(4)}"
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(
            prefix=prefix,
            key_hash=_digest(key),
            scope=scope,
            name=name,
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    return CreatedKey(key=key, scope=scope, prefix=prefix)


def verify_key(session: Session, key: str, *, needs: str) -> KeyRead:
    """The key's record if it may do ``needs`` (read < admin; write only ingests)."""
    parts = key.split("_", 3)  # uo_<scope letter>_<id>_<secret>; the secret may hold "_"
    prefix = "_".join(parts[:3]) if len(parts) == 4 else ""
    record = session.execute(sa.select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if record is None or not hmac.compare_digest(record.key_hash, _digest(key)):
        raise Unauthorized("unknown API key", field="authorization")
    if record.revoked_at is not None:
        raise Forbidden("this API key was revoked", field="authorization")
    allowed = {"read": {"read", "admin"}, "write": {"write", "admin"}, "admin": {"admin"}}[needs]
    if record.scope not in allowed:
        raise Forbidden(
            f"a {record.scope} key may not do this (needs {needs})", field="authorization"
        )
    return KeyRead.model_validate(record, from_attributes=True)


def list_keys(session: Session) -> list[KeyRead]:
    rows = session.execute(sa.select(ApiKey).order_by(ApiKey.id)).scalars()
    return [KeyRead.model_validate(r, from_attributes=True) for r in rows]


def revoke_key(session: Session, prefix: str) -> KeyRead:
    record = session.execute(sa.select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if record is None:
        raise NotFound(f"no key with prefix {prefix!r}", field="prefix")
    if record.revoked_at is None:
        record.revoked_at = datetime.now(UTC)
    session.flush()
    return KeyRead.model_validate(record, from_attributes=True)


def has_admin(session: Session) -> bool:
    return session.execute(sa.select(AdminUser.id).limit(1)).first() is not None


def create_admin(session: Session, *, username: str, password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field="password")
    exists = session.execute(sa.select(AdminUser.id).where(AdminUser.username == username)).first()
    if exists:
        raise Conflict(f"admin {username!r} exists", field="username")
    session.add(
        AdminUser(
            username=username, password_hash=_hasher.hash(password), created_at=datetime.now(UTC)
        )
    )
    session.flush()


def set_password(session: Session, *, username: str, password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field="password")
    user = session.execute(
        sa.select(AdminUser).where(AdminUser.username == username)
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no admin {username!r}", field="username")
    user.password_hash = _hasher.hash(password)
    session.flush()


def check_login(session: Session, *, username: str, password: str) -> bool:
    user = session.execute(
        sa.select(AdminUser).where(AdminUser.username == username)
    ).scalar_one_or_none()
    if user is None:
        _hasher.hash(password)  # same cost whether or not the user exists
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    user.last_login_at = datetime.now(UTC)
    session.flush()
    return True


def ensure_first_admin(session: Session, *, password: str | None) -> str | None:
    """Create ``admin`` when there is no admin yet. Returns the password if one was generated."""
    if has_admin(session):
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    create_admin(session, username="admin", password=password)
    return generated
