"""The tracking facade: accept Segment calls durably, load them into the warehouse behind.

``Tracker.accept`` checks a call (all of it or nothing), drops messages already seen in this
process's dedupe window, appends the rest to the journal and returns once they are on disk: the
API answers 200 only then. A loader thread seals journal segments and imports each through the
events importer (:func:`userops.ingest.service.load_tracked`): the same checks, de-duplication
by ``message_id`` against the warehouse, identity stitching, profile and order updates. A
segment file is deleted only after its import committed, so a crash at any point replays it,
harmlessly. See docs/decisions/0004-tracking-journal.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine

from userops.core.clock import utcnow
from userops.core.errors import InvalidInput, UseropsError
from userops.ingest import erasure
from userops.ingest import service as ingest
from userops.ingest.tracking import rules
from userops.ingest.tracking.journal import FAILED, Journal, segments
from userops.ingest.tracking.live import KeyStats, RecentEvents, TokenBucket
from userops.warehouse import Warehouse

log = logging.getLogger("userops.tracking")

MAX_BATCH_BYTES = rules.MAX_BATCH_BYTES
"""The largest batch body (decompressed) the API accepts."""
MAX_CALL_BYTES = rules.MAX_CALL_BYTES
"""The largest single-call body (decompressed) the API accepts."""

MAX_ATTEMPTS = 3
"""Failed loads of one segment before the loader sets it aside and goes on."""


class TrackingSettings(BaseSettings):
    """Tuning of the tracking API, read from ``USEROPS_TRACKING_*`` when the server starts."""

    model_config = SettingsConfigDict(env_prefix="USEROPS_TRACKING_")

    rate_limit: float = 100_000
    """Events per second each write key may send (token bucket); 0 turns the limit off."""

    burst: float | None = None
    """Events a key may send at once; default: two seconds' worth of ``rate_limit``."""

    load_interval: float = 1.0
    """Seconds between loader passes (sealing the journal and importing what it holds)."""

    dedupe_window: int = 1_000_000
    """How many recent message ids the server remembers to answer retries without re-journaling;
    the warehouse de-duplicates everything else by ``message_id``."""

    sync: bool = True
    """fdatasync every journal write before answering (turning it off breaks the durability
    promise; only for measuring what the sync costs)."""


class RateLimited(UseropsError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, field="authorization")
        self.retry_after = retry_after


class PayloadTooLarge(UseropsError):
    code = "too_large"
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body may not exceed {limit // 1024} KB", field="body")


def body_limit(call: str) -> int:
    """Segment's limits: 500 KB for a batch, 32 KB for a single call (decompressed)."""
    return MAX_BATCH_BYTES if call in ("batch", "import") else MAX_CALL_BYTES


ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
"""Content-Encodings the API inflates, and their zlib window bits (HTTP's deflate is the zlib
format; a raw deflate stream, which some clients send, is accepted too)."""


def _inflate_stream(raw: bytes, wbits: int, limit: int) -> bytes:
    out = bytearray()
    data = raw
    while data:
        stream = zlib.decompressobj(wbits)
        while data:
            out += stream.decompress(data, limit + 1 - len(out))  # never more than the limit
            if len(out) > limit:
                raise PayloadTooLarge(limit)
            data = stream.unconsumed_tail
            if stream.eof:
                break
        if not stream.eof:
            raise zlib.error("truncated stream")
        data = stream.unused_data  # gzip allows several members one after another
    return bytes(out)


def inflate(raw: bytes, encoding: str, limit: int) -> bytes:
    """Decompress a request body in a bounded stream: it stops as soon as the output passes
    ``limit`` (PayloadTooLarge), so a gzip bomb costs at most ``limit`` bytes of memory and a
    few milliseconds. CPU-bound: callers on an event loop run it in a thread."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        if len(raw) > limit:
            raise PayloadTooLarge(limit)
        return raw
    wbits = ENCODINGS.get(name)
    if wbits is None:
        raise InvalidInput(
            f"unsupported Content-Encoding {encoding!r}; use gzip or deflate",
            field="content-encoding",
        )
    try:
        return _inflate_stream(raw, wbits, limit)
    except zlib.error:
        if name == "deflate":
            try:
                return _inflate_stream(raw, -zlib.MAX_WBITS, limit)
            except zlib.error:
                pass
    raise InvalidInput(f"the body is not valid {name}", field="content-encoding")


@dataclass
class Accepted:
    accepted: int
    duplicates: int


class Tracker:
    """One per server process: journal, dedupe window, live stats, loader thread."""

    def __init__(
        self,
        *,
        engine: Engine,
        warehouse: Warehouse,
        data_dir: Path,
        settings: TrackingSettings | None = None,
    ) -> None:
        self.settings = settings or TrackingSettings()
        self.engine = engine
        self.warehouse = warehouse
        self.directory = data_dir / "tracking"
        self.rejects_dir = data_dir / "rejects"
        self.journal = Journal(self.directory / "journal", sync=self.settings.sync)
        self.recent = RecentEvents()
        self.stats = KeyStats()
        burst = self.settings.burst or max(2 * self.settings.rate_limit, 1.0)
        self.limit = TokenBucket(self.settings.rate_limit, burst)
        self._seen: dict[str, None] = {}
        self._seen_lock = threading.Lock()
        self._stop = threading.Event()
        self._load_lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self.loaded_events = 0
        self.loaded_duplicates = 0
        self.load_errors = 0
        self.rejected_events = 0
        """Events the loader refused (isolated into DATA_DIR/rejects/, the others loaded)."""
        self.last_rejects_file: str | None = None
        self.set_aside = 0
        self._failures: dict[str, int] = {}
        self.last_error: str | None = None
        self.checkpoint_path = self.directory / "checkpoint.json"

    # ---- accepting -------------------------------------------------------------------------

    def check(
        self, call: str, body: bytes, *, key: str | None, received_at: datetime
    ) -> rules.Checked:
        """The call's events as journal lines, or InvalidInput naming the broken rule. ``key``
        is the verified key's prefix, written into each line and counted in the stats."""
        try:
            return rules.check_call(call, body, received_at=received_at, write_key=key)
        except rules.MessageError as exc:
            if key:
                self.stats.rejected(key, exc.events)
            raise InvalidInput(exc.message, field=exc.field) from None

    def admit(self, key: str, n: int) -> None:
        """Raise RateLimited when ``key`` is over its rate."""
        wait = self.limit.take(key, n)
        if wait:
            self.stats.rejected(key, n, rate_limited=True)
            raise RateLimited(
                f"rate limit of {self.settings.rate_limit:g} events/s for this key exceeded; "
                f"retry after {wait:g} s",
                retry_after=wait,
            )

    def _fresh(self, checked: rules.Checked) -> tuple[bytes, list[bytes]]:
        fresh: list[bytes] = []
        window = self.settings.dedupe_window
        with self._seen_lock:
            seen = self._seen
            for line, message_id in zip(checked.lines, checked.message_ids, strict=True):
                if message_id in seen:
                    continue
                seen[message_id] = None
                fresh.append(line)
            if len(seen) > window:  # forget the oldest half at once (dicts keep order)
                keep = list(seen)[len(seen) - window // 2 :]
                self._seen = dict.fromkeys(keep)
        return (b"\n".join(fresh) + b"\n") if fresh else b"", fresh

    def _accepted(self, key: str, checked: rules.Checked, fresh: list[bytes]) -> Accepted:
        duplicates = len(checked.lines) - len(fresh)
        self.stats.accepted(key, len(fresh), duplicates)
        self.recent.add(fresh)
        return Accepted(accepted=len(fresh), duplicates=duplicates)

    async def accept(self, checked: rules.Checked, *, key: str) -> Accepted:
        """Journal the call's new events; returns once they are durable (the journal's writer
        thread syncs for every call waiting at that moment: group commit)."""
        data, fresh = self._fresh(checked)
        if fresh:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()

            def done(error: BaseException | None) -> None:
                loop.call_soon_threadsafe(_settle, future, error)

            self.journal.append(data, len(fresh), done)
            try:
                await future
            except BaseException:
                self._forget(checked.message_ids)
                raise
        return self._accepted(key, checked, fresh)

    def accept_wait(self, checked: rules.Checked, *, key: str) -> Accepted:
        """:meth:`accept` for callers without an event loop."""
        data, fresh = self._fresh(checked)
        if fresh:
            try:
                self.journal.append_wait(data, len(fresh))
            except BaseException:
                self._forget(checked.message_ids)
                raise
        return self._accepted(key, checked, fresh)

    def _forget(self, message_ids: list[str]) -> None:
        with self._seen_lock:
            for message_id in message_ids:
                self._seen.pop(message_id, None)

    # ---- loading ---------------------------------------------------------------------------

    def load_pending(self) -> int:
        """Seal the journal and import every sealed segment, oldest first; returns events
        imported. Safe to call from several threads (one loads at a time). A segment that fails
        ``MAX_ATTEMPTS`` times in a row is set aside in ``journal/failed/`` (kept, never
        deleted) so that it cannot block the events behind it; the next start retries it."""
        loaded = 0
        with self._load_lock:
            for path in self.journal.seal():
                try:
                    loaded += self._load_segment(path)
                except Exception:
                    self._failures[path.name] = self._failures.get(path.name, 0) + 1
                    if self._failures[path.name] < MAX_ATTEMPTS:
                        raise
                    self.journal.set_aside(path)
                    log.exception("set aside %s after %d failed loads", path.name, MAX_ATTEMPTS)
                    self.set_aside += 1
        return loaded

    def retry_set_aside(self) -> int:
        """Put segments set aside by an earlier run back in line (at start), each under a fresh
        segment number (:meth:`Journal.adopt`), so that none can replace a live segment."""
        failed = self.journal.directory / FAILED
        if not failed.is_dir():
            return 0
        moved = 0
        for _, path in segments(failed):
            with self._load_lock:
                adopted = self.journal.adopt(path)
                self._failures.pop(path.name, None)
            log.info("retrying set-aside segment %s as %s", path.name, adopted.name)
            moved += 1
        return moved

    def erase(self, mentions: Callable[[str], bool]) -> dict[str, int]:
        """Remove a person's events from the journal and the live debugger (an erasure): seal
        the live segment, then rewrite the sealed and set-aside ones without the lines
        ``mentions`` names, while the loader waits. Events arriving meanwhile go to the new
        segment; the loader refuses them through the suppression list."""
        with self._load_lock:
            sealed = self.journal.seal()
            lines = erasure.scrub_journal(self.journal.directory, mentions, sealed=sealed)
        return {"journal_lines": lines, "live_events": self.recent.discard(mentions)}

    def _load_segment(self, path: Path) -> int:
        if path.stat().st_size == 0:
            path.unlink()
            return 0
        now = utcnow()
        summary = ingest.load_tracked(
            engine=self.engine,
            warehouse=self.warehouse,
            rejects_dir=self.rejects_dir,
            path=path,
            now=now,
        )
        self.loaded_events += summary.imported
        self.loaded_duplicates += summary.duplicates
        if summary.rejected:  # kept whole in the rejects file, with the reason per line
            self.rejected_events += summary.rejected
            self.last_rejects_file = summary.rejects_file
            log.warning(
                "%d event(s) of %s refused by the loader; see %s",
                summary.rejected,
                path.name,
                summary.rejects_file,
            )
        self._write_checkpoint(path, summary.imported)
        path.unlink()
        return summary.imported

    def _write_checkpoint(self, path: Path, imported: int) -> None:
        tmp = self.checkpoint_path.with_suffix(".tmp")
        record = {
            "loaded_through": path.name,
            "imported": imported,
            "at": utcnow().isoformat(),
        }
        with open(tmp, "w") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.checkpoint_path)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.load_interval):
            try:
                self.load_pending()
                self.last_error = None
            except Exception as exc:  # kept in the journal; retried on the next pass
                self.load_errors += 1
                self.last_error = repr(exc)
                log.exception("loading tracked events failed; will retry")

    def start(self) -> None:
        """Replay what an earlier run left in the journal, then load in the background."""
        self._loader = threading.Thread(target=self._loop, name="tracking-loader", daemon=True)
        self._loader.start()

    def stop(self) -> None:
        """Stop accepting, load what is journaled, and close."""
        self._stop.set()
        if self._loader is not None:
            self._loader.join()
        self.journal.close()
        try:
            with self._load_lock:
                for path in self.journal.seal_all():
                    self._load_segment(path)
        except Exception:
            log.exception("loading tracked events at shutdown failed; they load at next start")

    def status(self) -> dict[str, Any]:
        return {
            "journal_syncs": self.journal.syncs,
            "unsealed_events": self.journal.unsealed_events,
            "pending_segments": len(self.journal.seal_list()),
            "loaded_events": self.loaded_events,
            "loaded_duplicates": self.loaded_duplicates,
            "load_errors": self.load_errors,
            "rejected_events": self.rejected_events,
            "last_rejects_file": self.last_rejects_file,
            "set_aside": self.set_aside,
            "last_error": self.last_error,
            "at": utcnow().timestamp(),
        }


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
