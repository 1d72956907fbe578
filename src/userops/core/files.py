"""Owner-only files: the data dir is 0700 and everything in it 0600 (folders 0700), as
PostgreSQL insists for its own data directory. The ledger, the warehouse, rejects files and
tracking journals hold personal data; other users of the machine must not read them.

Files userops writes itself are created with the mode (``os.open(..., 0o600)``). SQLite's
``-wal``/``-shm`` files take the mode of the database file, so a ledger file created 0600 is
enough. DuckDB, however, (re)creates ``warehouse.duckdb.wal`` and its spill files whenever it
writes, from any thread, with ``0666 & ~umask`` and no hook to set a mode: the only way to have
them 0600 is the process umask. :func:`private_umask` sets it to 077 while a hub is open
(``Hub.open`` … ``Hub.close``), counted across threads, and puts the previous one back when the
last holder leaves. While it is held, every file the process creates is owner-only, including
``userops segment export --out`` files, which hold personal data too. See
docs/decisions/0011-console-sessions-and-private-files.md.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077

log = logging.getLogger("userops.files")
_lock = threading.Lock()
_holders = 0
_saved_umask = 0


@contextmanager
def private_umask() -> Iterator[None]:
    """umask 077 for the process while held; nested and concurrent holders share it."""
    global _holders, _saved_umask
    with _lock:
        if _holders == 0:
            _saved_umask = os.umask(PRIVATE_UMASK)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                os.umask(_saved_umask)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with the leaf 0700; tighten it if it exists
    looser. Parents keep their usual mode: they are not ours."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(PRIVATE_DIR)
        log.warning("data dir %s was mode %o; now 0700 (owner only)", path, mode)
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file unless it exists (returns whether it was created)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to a file that is 0600 from its first byte (atomically replaced)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def tighten(root: Path) -> int:
    """Take group and other access away from every folder and file under ``root`` (0755 →
    0700, 0644 → 0600): a data dir from an older version, or copied with loose modes. Logs how
    many paths changed. Symbolic links are left alone and not followed."""
    changed = _tighten_one(root)
    for folder, dirs, files in os.walk(root, followlinks=False):
        changed += sum(_tighten_one(Path(folder, name)) for name in [*dirs, *files])
    if changed:
        log.warning("tightened %d path(s) in %s to owner-only modes (0700/0600)", changed, root)
    return changed


def _tighten_one(path: Path) -> int:
    """Drop group and other access, keep the owner's (0644 → 0600, 0755 → 0700)."""
    try:
        info = path.lstat()
    except FileNotFoundError:  # a journal segment or spill file removed meanwhile
        return 0
    if stat.S_ISLNK(info.st_mode) or not stat.S_IMODE(info.st_mode) & 0o077:
        return 0
    path.chmod(stat.S_IMODE(info.st_mode) & 0o700)
    return 1
