"""Which process owns the data dir's warehouse, and how another process reaches it.

DuckDB lets one process open a database file for writing. userops keeps that rule visible:
the process that opens the warehouse holds an exclusive ``flock`` on ``warehouse.lock``. A running
server also writes ``server.json`` (its URL and a per-start token, readable only by the owner of
the data dir); CLI commands that find it send their work to the server instead of opening the
file. Without a server, a CLI command takes the lock itself and waits, never fails, while another
command holds it; the holder writes what it is (command, pid, since when) into the lock file so a
waiter can say what it waits for. The decisions are recorded in
docs/decisions/0001-one-warehouse-owner.md and docs/decisions/0012-cli-commands-find-their-shop.md.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from userops.core.clock import utcnow

LOCK_FILE = "warehouse.lock"
SERVER_FILE = "server.json"


@dataclass(frozen=True)
class ServerInfo:
    url: str
    token: str
    pid: int


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as the holder wrote it into the lock file (no personal data)."""

    command: str
    pid: int
    since: str

    def describe(self) -> str:
        return f"`{self.command}` (pid {self.pid}, since {self.since} UTC)"


_held: dict[Path, int] = {}
_held_guard = threading.Lock()


def _owner_only(path: str, flags: int) -> int:
    """``open(..., opener=)`` that creates the file 0600 (the data dir is owner-only)."""
    return os.open(path, flags, 0o600)


@contextmanager
def hold(
    data_dir: Path,
    *,
    holder: str = "userops",
    on_wait: Callable[[Holder | None], None] | None = None,
    defer: bool = False,
) -> Iterator[None]:
    """Hold the data dir's warehouse lock; calls ``on_wait`` once, with the current holder if it
    is known, when another process has it, then waits.

    The wait is a plain blocking ``flock``: a signal whose handler raises (Ctrl-C, or SIGTERM
    where the CLI maps it to KeyboardInterrupt) ends it at once. The holder's description is
    written into the lock file so that a waiter can say what it is waiting for. Re-entrant
    within a process (``serve`` takes the lock before the app's start-up takes it again).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    key = data_dir.resolve()
    with _held_guard:
        if _held.get(key):
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    with open(data_dir / LOCK_FILE, "a+", opener=_owner_only) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(read_holder(data_dir))
            _wait_for(handle, data_dir, defer=defer)
        _write_holder(handle, holder)
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(key, None)
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


class ServerAppeared(Exception):
    """Raised by ``hold(defer=True)`` when, while it waited, a server took the data dir: the
    caller hands its work to that server instead of waiting for it to stop."""

    def __init__(self, server: ServerInfo) -> None:
        super().__init__(server.url)
        self.server = server


def _wait_for(handle: IO[str], data_dir: Path, *, defer: bool) -> None:
    """Block until the lock is ours. Without ``defer`` a plain blocking ``flock``; with it, poll
    (every 0.2 s) so that a server that won the lock and published itself is noticed."""
    if not defer:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            server = read_server(data_dir)
            if server is not None:
                raise ServerAppeared(server) from None
            time.sleep(0.2)


def _write_holder(handle: IO[str], command: str) -> None:
    since = utcnow().strftime("%Y-%m-%d %H:%M:%S")
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"command": command, "pid": os.getpid(), "since": since}))
    handle.flush()


def read_holder(data_dir: Path) -> Holder | None:
    """The lock holder's description, or None when unknown (an older version, a half write)."""
    try:
        raw = json.loads((data_dir / LOCK_FILE).read_text())
        return Holder(command=str(raw["command"]), pid=int(raw["pid"]), since=str(raw["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_locked(data_dir: Path) -> bool:
    path = data_dir / LOCK_FILE
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def publish_server(data_dir: Path, url: str) -> ServerInfo:
    info = ServerInfo(url=url, token=secrets.token_urlsafe(32), pid=os.getpid())
    path = data_dir / SERVER_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": info.url, "token": info.token, "pid": info.pid}, handle)
    os.replace(tmp, path)
    return info


def withdraw_server(data_dir: Path, info: ServerInfo) -> None:
    current = read_server(data_dir)
    if current is not None and current.token == info.token:
        (data_dir / SERVER_FILE).unlink(missing_ok=True)


def read_server(data_dir: Path) -> ServerInfo | None:
    """The running server of this data dir, if one holds the lock; stale files are ignored."""
    path = data_dir / SERVER_FILE
    try:
        raw = json.loads(path.read_text())
        info = ServerInfo(url=str(raw["url"]), token=str(raw["token"]), pid=int(raw["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _pid_alive(info.pid) or not is_locked(data_dir):
        return None
    return info


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
