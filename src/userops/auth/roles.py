"""Roles and permissions, defined once. Every console view, API route and CLI command names the
permission it needs (``Permission``); a role is a set of them. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    READ = "data.read"  # overview, analytics, CLV, tags, segments, live (read)
    EXPORT = "data.export"  # CSV exports of reports, segments and the audit log's rows
    CUSTOMERS_READ = "customers.read"  # search and the 360 page (contacts masked)
    CUSTOMERS_REVEAL = "customers.reveal"  # reveal one customer's contact, logged
    CONSENT_WRITE = "customers.consent"  # record a grant or withdrawal
    CUSTOMERS_ERASE = "customers.erase"
    TAGS_MANUAL = "tags.manual"
    TAGS_REFRESH = "tags.refresh"
    TAGS_SETTINGS = "tags.settings"
    SEGMENTS_WRITE = "segments.write"
    IMPORTS = "imports.run"
    CAMPAIGNS = "campaigns.write"
    OFFERS = "offers.write"
    TRACK = "track.write"  # ingest events (write keys)
    SETTINGS = "settings.manage"
    KEYS = "keys.manage"
    USERS = "users.manage"
    AUDIT = "audit.read"


P = Permission

OPERATOR = frozenset(
    {
        P.READ,
        P.EXPORT,
        P.CUSTOMERS_READ,
        P.CUSTOMERS_REVEAL,
        P.CONSENT_WRITE,
        P.TAGS_MANUAL,
        P.TAGS_REFRESH,
        P.TAGS_SETTINGS,
        P.SEGMENTS_WRITE,
        P.IMPORTS,
        P.CAMPAIGNS,
        P.OFFERS,
    }
)
ANALYST = frozenset({P.READ, P.EXPORT, P.CUSTOMERS_READ})
SERVICE_AGENT = frozenset({P.CUSTOMERS_READ, P.CUSTOMERS_REVEAL, P.CONSENT_WRITE, P.TAGS_MANUAL})
ADMIN = frozenset(Permission) - {P.TRACK}

ROLES: dict[str, frozenset[Permission]] = {
    "owner": ADMIN,
    "admin": ADMIN,
    "operator": OPERATOR,
    "analyst": ANALYST,
    "service_agent": SERVICE_AGENT,
}
"""Role code → what it may do. ``owner`` and ``admin`` may do the same; there is always at
least one owner (the first console account), who cannot be disabled or demoted by others."""

ROLE_ORDER = ("owner", "admin", "operator", "analyst", "service_agent")

SCOPES: dict[str, frozenset[Permission]] = {
    "read": frozenset({P.READ, P.EXPORT, P.CUSTOMERS_READ}),
    "write": frozenset({P.TRACK}),
    "admin": frozenset(Permission),
}
"""API-key scope → what the key may do at most. A key that belongs to a user may in addition do
no more than that user's role allows (and nothing once the user is disabled)."""


def allows(role: str, permission: Permission) -> bool:
    return permission in ROLES.get(role, frozenset())


def roles_with(permission: Permission) -> list[str]:
    """The roles that may do ``permission``, in display order (for a 403's message)."""
    return [role for role in ROLE_ORDER if permission in ROLES[role]]


def key_permissions(scope: str, owner_role: str | None) -> frozenset[Permission]:
    granted = SCOPES.get(scope, frozenset())
    if owner_role is None:
        return granted
    return granted & (ROLES.get(owner_role, frozenset()) | {P.TRACK})
