"""Pure rules of console sign-in: how long a run of failures locks an account or an address."""

from __future__ import annotations

import re

from userops.core.errors import InvalidInput

ACCOUNT = "account"
ADDRESS = "address"
KINDS = (ACCOUNT, ADDRESS)
"""What a run of failures is counted for: the submitted account name, and the client address."""


def lockout_seconds(failures: int, *, max_failures: int, base: int, cap: int) -> int:
    """Seconds locked after ``failures`` failures in a row: none below ``max_failures``, then
    ``base`` doubling with each further failure (exponential backoff), never above ``cap``."""
    if failures < max_failures:
        return 0
    doublings = min(failures - max_failures, 32)  # 2**32 × base is past any sensible cap
    return min(cap, base * 2**doublings)


def account_key(username: str) -> str:
    """The account a failure counts against. Case-folded, so ``Admin`` and ``admin`` share one
    count; names that do not exist are counted too, so a lockout reveals nothing about them."""
    return username.strip().casefold()[:64]


_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_username(username: str) -> str:
    """A console user name: 1–64 letters, digits and ``_ . @ -``, starting with a letter or a
    digit (it appears in the audit log and in URLs, so nothing else)."""
    name = username.strip()
    if not _USERNAME.match(name):
        raise InvalidInput(
            "a user name is 1-64 characters: letters, digits, _ . @ - (starting with a letter "
            "or digit)",
            field="username",
        )
    return name
