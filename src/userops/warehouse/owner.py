"""Which process owns the data dir's warehouse, and how another process reaches it.

DuckDB lets one process open a database file for writing. userops keeps that rule visible:
the process that opens the warehouse holds an exclusive ``flock`` on ``warehouse.lock``. A running
server also writes ``server.json`` (its URL and a per-start token, readable only by the owner of
the data dir); CLI commands that find it send their work to the server instead of opening the
file. Without a server, a CLI command takes the lock itself and waits, never fails, while another
command holds it. The decision is recorded in docs/decisions/0001-one-warehouse-owner.md.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "warehouse.lock"
SERVER_FILE = "server.json"


@dataclass(frozen=True)
class ServerInfo:
    url: str
    token: str
    pid: int


def _owner_only(path: str, flags: int) -> int:
    """``open(..., opener=)`` that creates the file 0600 (the data dir is owner-only)."""
    return os.open(path, flags, 0o600)


@contextmanager
def hold(data_dir: Path, *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the data dir's warehouse lock; calls ``on_wait`` once if another process has it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_FILE, "a+", opener=_owner_only) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
