"""API keys (stored as SHA-256 hashes), console admins (argon2id password hashes), their
sessions (server-side records, docs/decisions/0011) and sign-in throttling."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from userops.auth.models import AdminUser, ApiKey, ConsoleSession, LoginThrottle
from userops.auth.roles import ROLES, Permission, key_permissions, roles_with
from userops.auth.rules import ACCOUNT, ADDRESS, account_key, check_username, lockout_seconds
from userops.auth.schemas import SCOPES, Account, CreatedKey, KeyRead, LoginPolicy, SignIn
from userops.core.clock import utcnow
from userops.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized

_hasher = PasswordHasher()
log = logging.getLogger("userops.auth")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    scope: str,
    name: str | None = None,
    user: str | None = None,
    created_by: str | None = None,
) -> CreatedKey:
    """A new key; the full key is returned this once and only its hash is stored. With
    ``user`` it belongs to that console user, else to the service ``name``."""
    if scope not in SCOPES:
        raise InvalidInput(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}", field="scope")
    owner = None
    if user:
        owner = _admin(session, user)
        if owner is None:
            raise NotFound(f"no console user {user!r}", field="user")
        if owner.disabled_at is not None:
            raise Conflict(f"console user {user!r} is disabled", field="user")
    prefix = f"uo_{scope[0]}_{secrets.token_hex(4)}"
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(
            prefix=prefix,
            key_hash=_digest(key),
            scope=scope,
            name=name,
            created_at=utcnow(),
            user_id=owner.id if owner else None,
            created_by=created_by,
        )
    )
    session.flush()
    return CreatedKey(key=key, scope=scope, prefix=prefix)


LAST_USED_EVERY = timedelta(minutes=1)


def verify_key(session: Session, key: str, *, needs: str | Permission) -> KeyRead:
    """The key's record if it may do ``needs``: a :class:`Permission`, or one of the old scope
    names (``read``, ``write``, ``admin``). A key of a user may do no more than the user's role
    allows, and nothing once the user is disabled. ``last_used_at`` moves at most once a
    minute, so a busy key costs one UPDATE a minute, not one per call."""
    permission = _SCOPE_NEEDS.get(str(needs)) or Permission(needs)
    parts = key.split("_", 3)  # uo_<scope letter>_<id>_<secret>; the secret may hold "_"
    prefix = "_".join(parts[:3]) if len(parts) == 4 else ""
    record = session.execute(sa.select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if record is None or not hmac.compare_digest(record.key_hash, _digest(key)):
        raise Unauthorized("unknown API key", field="authorization")
    if record.revoked_at is not None:
        raise Forbidden("this API key was revoked", field="authorization")
    owner = session.get(AdminUser, record.user_id) if record.user_id is not None else None
    if owner is not None and owner.disabled_at is not None:
        raise Forbidden("the user this API key belongs to is disabled", field="authorization")
    granted = key_permissions(record.scope, owner.role if owner else None)
    if permission not in granted:
        whose = f"a {record.scope} key" + (f" of a {owner.role}" if owner else "")
        roles = ", ".join(roles_with(permission))
        raise Forbidden(
            f"{whose} may not do this (needs permission {permission.value}; "
            f"roles that have it: {roles})",
            field="authorization",
        )
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_EVERY:
        record.last_used_at = now
        session.flush()
    return _key_read(record, owner)


_SCOPE_NEEDS = {"read": Permission.READ, "write": Permission.TRACK, "admin": Permission.KEYS}


def _key_read(record: ApiKey, owner: AdminUser | None) -> KeyRead:
    return KeyRead(
        prefix=record.prefix,
        scope=record.scope,
        name=record.name,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
        user=owner.username if owner else None,
        role=owner.role if owner else None,
        created_by=record.created_by,
        last_used_at=record.last_used_at,
    )


def list_keys(session: Session) -> list[KeyRead]:
    rows = session.execute(
        sa.select(ApiKey, AdminUser)
        .outerjoin(AdminUser, AdminUser.id == ApiKey.user_id)
        .order_by(ApiKey.id)
    ).all()
    return [_key_read(key, owner) for key, owner in rows]


def revoke_key(session: Session, prefix: str) -> KeyRead:
    record = session.execute(sa.select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if record is None:
        raise NotFound(f"no key with prefix {prefix!r}", field="prefix")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    session.flush()
    owner = session.get(AdminUser, record.user_id) if record.user_id is not None else None
    return _key_read(record, owner)


def has_admin(session: Session) -> bool:
    return session.execute(sa.select(AdminUser.id).limit(1)).first() is not None


def create_admin(
    session: Session, *, username: str, password: str, role: str = "owner"
) -> AdminUser:
    """A console user (``userops users add``; the first one, ``admin``, is an owner)."""
    username = check_username(username)
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; known: {', '.join(ROLES)}", field="role")
    _check_new_password(password, field="password")
    exists = session.execute(sa.select(AdminUser.id).where(AdminUser.username == username)).first()
    if exists:
        raise Conflict(f"console user {username!r} exists", field="username")
    user = AdminUser(
        username=username,
        password_hash=_hasher.hash(password),
        created_at=utcnow(),
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def set_password(
    session: Session, *, username: str, password: str, now: datetime | None = None
) -> None:
    """A new password (``userops admin password``): every session of the admin ends and the
    account's failure count is cleared, so a locked-out admin can get back in."""
    _check_new_password(password, field="password")
    user = session.execute(
        sa.select(AdminUser).where(AdminUser.username == username)
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no admin {username!r}", field="username")
    now = now or utcnow()
    user.password_hash = _hasher.hash(password)
    _end_sessions_of(session, user.id, now)
    _forget(session, [(ACCOUNT, account_key(username))])
    session.flush()
    log.info("password of console account %r set; its sessions ended", user.username)


def _check_new_password(password: str, *, field: str) -> None:
    if len(password) < 8:
        raise InvalidInput("the password needs at least 8 characters", field=field)


def _verify(user: AdminUser | None, password: str) -> bool:
    """argon2 verification that costs the same whether or not the user exists."""
    if user is None:
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _admin(session: Session, username: str) -> AdminUser | None:
    return session.execute(
        sa.select(AdminUser).where(AdminUser.username == username)
    ).scalar_one_or_none()


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    address: str,
    now: datetime,
    policy: LoginPolicy,
) -> SignIn:
    """Check a console sign-in, throttled per account and per client ``address`` (an opaque
    key the caller derives; it is stored as given). While either is locked the attempt is
    refused without looking at the password, so a correct guess during a lockout is no use."""
    username = username.strip()
    keys = [(ACCOUNT, account_key(username)), (ADDRESS, address)]
    if locked := _locked_for(session, keys, now):
        return SignIn(outcome="locked", retry_after=locked)
    user = _admin(session, username)
    if user is None or not _verify(user, password) or user.disabled_at is not None:
        # a disabled account is refused like a wrong password: the answer reveals nothing
        return SignIn(outcome="wrong_password", retry_after=_fail(session, keys, now, policy))
    _forget(session, keys)
    user.last_login_at = now
    token = _open_session(session, user, now, policy)
    log.info("console sign-in for account %r", user.username)
    return SignIn(outcome="signed_in", token=token)


def change_password(
    session: Session,
    *,
    token: str,
    current: str,
    new: str,
    address: str,
    now: datetime,
    policy: LoginPolicy,
) -> SignIn:
    """The signed-in admin's new password. The current one is checked (and throttled like a
    sign-in, so a stolen cookie cannot be used to guess it); on success every session of the
    admin ends, this one included, and the returned token is the caller's new session."""
    user = _session_admin(session, token, now)
    if user is None:
        raise Unauthorized("the session has ended; sign in again", field="session")
    _check_new_password(new, field="new_password")
    keys = [(ACCOUNT, account_key(user.username)), (ADDRESS, address)]
    if locked := _locked_for(session, keys, now):
        return SignIn(outcome="locked", retry_after=locked)
    if not _verify(user, current):
        return SignIn(outcome="wrong_password", retry_after=_fail(session, keys, now, policy))
    _forget(session, keys)
    user.password_hash = _hasher.hash(new)
    _end_sessions_of(session, user.id, now)
    fresh = _open_session(session, user, now, policy)
    log.info("console account %r changed its password; its other sessions ended", user.username)
    return SignIn(outcome="signed_in", token=fresh)


def session_user(session: Session, *, token: str, now: datetime) -> str | None:
    """The user a console session token belongs to, while the session lasts; else None."""
    account = session_account(session, token=token, now=now)
    return account.username if account is not None else None


def session_account(session: Session, *, token: str, now: datetime) -> Account | None:
    """The user (with their role) of a console session token while it lasts; else None."""
    user = _session_admin(session, token, now)
    return _account(user) if user is not None else None


def end_session(session: Session, *, token: str, now: datetime) -> None:
    """Sign out: the session ends on the server, so copies of the cookie stop working too."""
    session.execute(
        sa.update(ConsoleSession)
        .where(ConsoleSession.token_hash == _digest(token), ConsoleSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    session.flush()


def _session_admin(session: Session, token: str, now: datetime) -> AdminUser | None:
    if not token:
        return None
    return session.execute(
        sa.select(AdminUser)
        .join(ConsoleSession, ConsoleSession.admin_id == AdminUser.id)
        .where(
            ConsoleSession.token_hash == _digest(token),
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.expires_at > now,
            AdminUser.disabled_at.is_(None),
        )
    ).scalar_one_or_none()


def _open_session(session: Session, user: AdminUser, now: datetime, policy: LoginPolicy) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_digest(token),
            admin_id=user.id,
            created_at=now,
            expires_at=now + timedelta(hours=policy.session_hours),
        )
    )
    session.flush()
    return token


def _end_sessions_of(session: Session, admin_id: int, now: datetime) -> None:
    session.execute(
        sa.update(ConsoleSession)
        .where(ConsoleSession.admin_id == admin_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def _throttles(session: Session, keys: list[tuple[str, str]]) -> list[LoginThrottle]:
    wanted = sa.tuple_(LoginThrottle.kind, LoginThrottle.key).in_(keys)
    return list(session.execute(sa.select(LoginThrottle).where(wanted)).scalars())


def _locked_for(session: Session, keys: list[tuple[str, str]], now: datetime) -> int:
    """Seconds until every one of ``keys`` accepts attempts again (0: none is locked)."""
    waits = [
        math.ceil((row.locked_until - now).total_seconds())
        for row in _throttles(session, keys)
        if row.locked_until is not None and row.locked_until > now
    ]
    return max(waits, default=0)


def _fail(session: Session, keys: list[tuple[str, str]], now: datetime, policy: LoginPolicy) -> int:
    """Count a failure for each key; returns how long this failure locks them (0: not yet)."""
    forget_before = now - timedelta(seconds=policy.lockout_max_seconds)
    session.execute(  # runs that went quiet are forgotten, so the table stays small
        sa.delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < forget_before,
            sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
    rows = {(row.kind, row.key): row for row in _throttles(session, keys)}
    locked = 0
    for kind, key in keys:
        row = rows.get((kind, key))
        if row is None:
            row = LoginThrottle(kind=kind, key=key, failures=0, last_failure_at=now)
            session.add(row)
        row.failures += 1
        row.last_failure_at = now
        seconds = lockout_seconds(
            row.failures,
            max_failures=policy.max_failures,
            base=policy.lockout_seconds,
            cap=policy.lockout_max_seconds,
        )
        row.locked_until = now + timedelta(seconds=seconds) if seconds else None
        _log_failure(kind, key, row.failures, seconds)
        locked = max(locked, seconds)
    session.flush()
    return locked


def _log_failure(kind: str, key: str, failures: int, locked: int) -> None:
    """Never the password; an account by its name, an address only by the start of its key."""
    who = f"account {key!r}" if kind == ACCOUNT else f"client {key[:12]}"
    if locked:
        log.warning(
            "console sign-in: %s locked for %d s after %d failures in a row", who, locked, failures
        )
    else:
        log.warning("console sign-in failed for %s (%d in a row)", who, failures)


def _forget(session: Session, keys: list[tuple[str, str]]) -> None:
    wanted = sa.tuple_(LoginThrottle.kind, LoginThrottle.key).in_(keys)
    session.execute(sa.delete(LoginThrottle).where(wanted))


def ensure_first_admin(session: Session, *, password: str | None) -> str | None:
    """Create ``admin`` when there is no admin yet. Returns the password if one was generated."""
    if has_admin(session):
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    create_admin(session, username="admin", password=password)
    return generated


# --- console users and their roles (docs/decisions/0016) -------------------------------------


def _account(user: AdminUser) -> Account:
    return Account(
        username=user.username,
        role=user.role,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        disabled_at=user.disabled_at,
    )


def _existing(session: Session, username: str) -> AdminUser:
    user = _admin(session, username.strip())
    if user is None:
        raise NotFound(f"no console user {username!r}", field="username")
    return user


def exists(session: Session, username: str) -> bool:
    return _admin(session, username.strip()) is not None


def account(session: Session, username: str) -> Account:
    return _account(_existing(session, username))


def list_users(session: Session) -> list[Account]:
    rows = session.execute(sa.select(AdminUser).order_by(AdminUser.id)).scalars()
    return [_account(u) for u in rows]


def add_user(
    session: Session, *, username: str, role: str, password: str | None = None
) -> tuple[Account, str | None]:
    """Invite a console user. Without ``password`` a one-time password is generated and
    returned (shown once; the user changes it on the password page)."""
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    user = create_admin(session, username=username, password=password, role=role)
    log.info("console account %r created with role %s", user.username, role)
    return _account(user), generated


def _active_owners(session: Session) -> int:
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(AdminUser)
            .where(AdminUser.role == "owner", AdminUser.disabled_at.is_(None))
        ).scalar_one()
    )


def _keep_an_owner(session: Session, user: AdminUser) -> None:
    if user.role == "owner" and user.disabled_at is None and _active_owners(session) <= 1:
        raise Conflict(
            f"{user.username!r} is the last active owner; make another user owner first",
            field="username",
        )


def disable_user(session: Session, username: str, *, now: datetime | None = None) -> Account:
    """Disable: the user's sessions end at once and their API keys stop working."""
    user = _existing(session, username)
    if user.disabled_at is None:
        _keep_an_owner(session, user)
        now = now or utcnow()
        user.disabled_at = now
        _end_sessions_of(session, user.id, now)
        session.flush()
        log.info("console account %r disabled; its sessions ended", user.username)
    return _account(user)


def enable_user(session: Session, username: str) -> Account:
    user = _existing(session, username)
    user.disabled_at = None
    session.flush()
    return _account(user)


def reset_password(
    session: Session, username: str, *, password: str | None = None, now: datetime | None = None
) -> str | None:
    """A new password for another user (one-time, generated, unless given): their sessions
    end. Returns the generated password, or None when one was given."""
    user = _existing(session, username)
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    set_password(session, username=user.username, password=password, now=now)
    return generated


def set_role(session: Session, username: str, role: str) -> tuple[Account, str]:
    """Change a user's role; returns the account and the role it had."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; known: {', '.join(ROLES)}", field="role")
    user = _existing(session, username)
    before = user.role
    if before == "owner" and role != "owner":
        _keep_an_owner(session, user)
    user.role = role
    session.flush()
    return _account(user), before
