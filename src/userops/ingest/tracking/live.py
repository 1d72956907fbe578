"""What the live debugger shows and what the rate limit counts: in-memory, per server process.

* :class:`RecentEvents`: the newest accepted events (a bounded ring).
* :class:`KeyStats`: per write key, since the server started: events accepted in the last
  minute, accepted, duplicates, rejected, rate-limited.
* :class:`TokenBucket`: the per-key rate limit (events per second with a burst).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson


class RecentEvents:
    """The last ``size`` accepted events, newest last; each gets a sequence number so a page can
    ask for what came after the last one it shows."""

    def __init__(self, size: int = 500) -> None:
        self._ring: deque[tuple[int, bytes]] = deque(maxlen=size)
        self._seq = 0
        self._lock = threading.Lock()

    def add(self, events: list[bytes]) -> None:
        """Journal lines (JSON); decoded only when a page shows them."""
        with self._lock:
            for event in events[-self._ring.maxlen :] if self._ring.maxlen else events:
                self._seq += 1
                self._ring.append((self._seq, event))

    def discard(self, mentions: Callable[[str], bool]) -> int:
        """Forget the events ``mentions`` names (an erasure); returns how many."""
        with self._lock:
            kept = [(seq, line) for seq, line in self._ring if not mentions(line.decode())]
            removed = len(self._ring) - len(kept)
            self._ring.clear()
            self._ring.extend(kept)
        return removed

    def get(self, seq: int) -> dict[str, Any] | None:
        with self._lock:
            found = next((line for item_seq, line in self._ring if item_seq == seq), None)
        return None if found is None else orjson.loads(found)

    def latest(self, limit: int = 50, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """Newest first."""
        with self._lock:
            items = [item for item in self._ring if item[0] > after][-limit:]
        return [(seq, orjson.loads(line)) for seq, line in reversed(items)]


@dataclass
class KeyCounts:
    key: str
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rate_limited: int = 0
    last_seen: float = 0.0
    per_second: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=61))

    def events_last_minute(self, now: float) -> int:
        floor = int(now) - 60
        return sum(n for second, n in self.per_second if second > floor)


class KeyStats:
    """Counters per write key (its public prefix), since the server started."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._keys: dict[str, KeyCounts] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def _get(self, key: str) -> KeyCounts:
        counts = self._keys.get(key)
        if counts is None:
            counts = self._keys[key] = KeyCounts(key=key)
        return counts

    def accepted(self, key: str, n: int, duplicates: int) -> None:
        now = self._clock()
        second = int(now)
        with self._lock:
            counts = self._get(key)
            counts.accepted += n
            counts.duplicates += duplicates
            counts.last_seen = now
            if counts.per_second and counts.per_second[-1][0] == second:
                counts.per_second[-1] = (second, counts.per_second[-1][1] + n)
            else:
                counts.per_second.append((second, n))

    def rejected(self, key: str, n: int, *, rate_limited: bool = False) -> None:
        with self._lock:
            counts = self._get(key)
            if rate_limited:
                counts.rate_limited += n
            else:
                counts.rejected += n
            counts.last_seen = self._clock()

    def snapshot(self) -> list[dict[str, Any]]:
        now = self._clock()
        with self._lock:
            return [
                {
                    "key": c.key,
                    "events_per_minute": c.events_last_minute(now),
                    "accepted": c.accepted,
                    "duplicates": c.duplicates,
                    "rejected": c.rejected,
                    "rate_limited": c.rate_limited,
                    "last_seen": c.last_seen,
                }
                for c in sorted(self._keys.values(), key=lambda c: -c.last_seen)
            ]


class TokenBucket:
    """Per key: ``rate`` events per second, bursts up to ``burst``. ``take`` answers how many
    seconds to wait (0 when allowed). A request bigger than the burst is allowed when the
    bucket is full, so a maximal batch never waits forever."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, n: int) -> float:
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, at = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            need = min(float(n), self.burst)
            if tokens >= need:
                self._state[key] = (tokens - n, now)
                return 0.0
            self._state[key] = (tokens, now)
            return max(1.0, math.ceil((need - tokens) / self.rate))
