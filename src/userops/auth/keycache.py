"""The one cache of verified API keys: a write key → its public prefix, for a few seconds.

The tracking API verifies a write key on every call; hashing it and reading the ledger each
time would cost more than journaling the events. A :class:`KeyCache` remembers successes only
(an unknown or revoked key is looked up each time), for :data:`KEY_CACHE_SECONDS` at most, and
at most :data:`KEY_CACHE_SIZE` keys. It belongs to the process's :class:`userops.hub.Hub`
(``hub.keys``), never to a module: a revocation run in that process (``userops keys revoke``,
which is handed to the running server) calls :meth:`KeyCache.forget` and takes effect at once;
a revocation written to the ledger by any other process takes effect within
``KEY_CACHE_SECONDS``. Imports nothing heavy: the caller does the verification.
"""

from __future__ import annotations

import threading
import time

KEY_CACHE_SECONDS = 5.0
"""A verified key is remembered this long: the bound on a revocation made outside the server."""
KEY_CACHE_SIZE = 10_000
"""More keys than this and the cache starts over (a shop has a handful of write keys)."""


class KeyCache:
    """Verified keys → prefix, with a generation that :meth:`forget` bumps so that a
    verification that started before a revocation cannot put the revoked key back."""

    def __init__(self, seconds: float = KEY_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._ok: dict[str, tuple[str, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def lookup(self, key: str) -> tuple[str | None, int]:
        """(prefix if the key was verified recently, else None; the generation to pass to
        :meth:`remember` after verifying it)."""
        with self._lock:
            found = self._ok.get(key)
            if found is not None and found[1] > time.monotonic():
                return found[0], self._generation
            return None, self._generation

    def remember(self, key: str, prefix: str, generation: int) -> None:
        """Cache a key verified since :meth:`lookup` returned ``generation`` (ignored when a
        key was forgotten in between)."""
        with self._lock:
            if generation != self._generation:
                return
            if len(self._ok) >= KEY_CACHE_SIZE:
                self._ok.clear()
            self._ok[key] = (prefix, time.monotonic() + self.seconds)

    def forget(self, prefix: str) -> None:
        """Drop the key with this prefix (it was revoked): the next call verifies it again."""
        with self._lock:
            self._generation += 1
            self._ok = {k: v for k, v in self._ok.items() if v[0] != prefix}
