"""A durable, append-only journal of accepted events: fsync'd segment files with group commit.

Each segment ``seg-<n>.ndjson`` holds one journal line (JSON) per event. Callers hand a block of
lines to :meth:`Journal.append` and are released only after the block is written *and*
``fdatasync``'d; one writer thread serves everyone, so concurrent requests share one sync (group
commit). A block is never split across segments.

Segments are sealed (closed, a new one opened) on request of the loader; sealed segments are
immutable. At open, every existing segment counts as sealed and a torn last line (a write the
crash interrupted, never acknowledged) is cut off.

A segment number is never used twice: the journal numbers after the highest segment in *both*
``journal/`` and ``journal/failed/`` (where the loader sets aside a segment it cannot load), a
set-aside segment is put back in line under a fresh number (:meth:`Journal.adopt`), and every
move is a hard link plus unlink, which fails instead of replacing a file already there. A live
segment can therefore never be moved over, and no acknowledged event can end up in an unlinked
file. See docs/decisions/0004-tracking-journal.md.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_SEGMENT = re.compile(r"^seg-(\d{12})\.ndjson$")


def segment_name(number: int) -> str:
    return f"seg-{number:012d}.ndjson"


def segments(directory: Path) -> list[tuple[int, Path]]:
    """The segment files of ``directory``, oldest first."""
    found = []
    for path in directory.iterdir():
        match = _SEGMENT.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


FAILED = "failed"
"""The sub-directory of the journal where the loader sets aside segments it cannot load."""


def highest_number(directory: Path) -> int:
    """The highest segment number in ``directory`` and its ``failed/`` folder (0 when none)."""
    found = [n for n, _ in segments(directory)]
    if (directory / FAILED).is_dir():
        found += [n for n, _ in segments(directory / FAILED)]
    return max(found, default=0)


def move_no_clobber(source: Path, target: Path, *, sync: bool = True) -> None:
    """Move ``source`` to ``target`` without ever replacing ``target``: ``os.link`` refuses an
    existing name (FileExistsError), unlike ``rename``/``replace``, which would silently drop
    whatever file held it. Both directories are fsync'd so that the move survives a crash."""
    os.link(source, target)
    os.unlink(source)
    if sync:
        _fsync_dir(target.parent)
        if source.parent != target.parent:
            _fsync_dir(source.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def cut_torn_tail(path: Path) -> int:
    """Truncate a segment after its last complete line; returns the bytes removed."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as handle:
        keep = size
        step = 64 * 1024
        while keep > 0:
            start = max(0, keep - step)
            handle.seek(start)
            chunk = handle.read(keep - start)
            at = chunk.rfind(b"\n")
            if at >= 0:
                keep = start + at + 1
                break
            keep = start
        if keep != size:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
    return size - keep


@dataclass
class _Block:
    data: bytes
    count: int
    done: Callable[[BaseException | None], None]


class Journal:
    """The process's journal in ``directory``; one writer thread does every write and sync."""

    def __init__(self, directory: Path, *, sync: bool = True) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.sync = sync
        existing = segments(directory)
        for _, path in existing:
            cut_torn_tail(path)
        self._number = highest_number(directory) + 1
        self._fd = self._open_segment(self._number)
        self._bytes = 0
        self._events = 0
        self._pending: list[_Block] = []
        self._cond = threading.Condition()
        self._io = threading.Lock()
        self._closed = False
        self.syncs = 0
        """How many fdatasync calls served appends (for the bench: events per sync)."""
        self._thread = threading.Thread(target=self._run, name="tracking-journal", daemon=True)
        self._thread.start()

    def _open_segment(self, number: int) -> int:
        path = self.directory / segment_name(number)
        # O_EXCL: a live segment is always a new file, never one that already holds events.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        if self.sync:
            _fsync_dir(self.directory)  # the new file's name survives a crash too
        return fd

    def append(self, data: bytes, count: int, done: Callable[[BaseException | None], None]) -> None:
        """Queue ``data`` (whole lines); ``done(None)`` runs on the writer thread once it is
        durable, ``done(error)`` if it could not be written."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the journal is closed")
            self._pending.append(_Block(data, count, done))
            self._cond.notify()

    def append_wait(self, data: bytes, count: int) -> None:
        """Append and block until durable (for callers without an event loop)."""
        finished = threading.Event()
        failure: list[BaseException] = []

        def done(error: BaseException | None) -> None:
            if error is not None:
                failure.append(error)
            finished.set()

        self.append(data, count, done)
        finished.wait()
        if failure:
            raise failure[0]

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                blocks, self._pending = self._pending, []
                if not blocks and self._closed:
                    return
            error: BaseException | None = None
            try:
                with self._io:
                    payload = b"".join(b.data for b in blocks)
                    view = memoryview(payload)
                    while view:
                        written = os.write(self._fd, view)
                        view = view[written:]
                    if self.sync:
                        os.fdatasync(self._fd)
                    self.syncs += 1
                    self._bytes += len(payload)
                    self._events += sum(b.count for b in blocks)
            except BaseException as exc:  # reported to every waiting caller
                error = exc
            for block in blocks:
                block.done(error)

    def seal(self) -> list[Path]:
        """Close the current segment if it holds events and start the next; returns every sealed
        segment (those the loader may load), oldest first."""
        with self._io:
            if self._events:
                os.close(self._fd)
                self._number += 1
                self._fd = self._open_segment(self._number)
                self._bytes = 0
                self._events = 0
            current = self._number
        return [path for number, path in segments(self.directory) if number < current]

    def adopt(self, source: Path) -> Path:
        """Put a segment from elsewhere (one set aside in ``failed/``) back in line as a sealed
        segment under a fresh number, the one the live segment has now: the live segment is
        sealed first if it holds events, then its empty file gives way to ``source`` and the
        live segment moves on to the next number. Returns the new path."""
        with self._io:
            if self._closed:
                raise RuntimeError("the journal is closed")
            if self._events:
                os.close(self._fd)
                self._number += 1
                self._fd = self._open_segment(self._number)
                self._bytes = 0
                self._events = 0
            number = self._number
            target = self.directory / segment_name(number)
            os.close(self._fd)
            target.unlink()  # the live segment's file, empty: nothing was written to it
            move_no_clobber(source, target, sync=self.sync)
            self._number = number + 1
            self._fd = self._open_segment(self._number)
        return target

    def set_aside(self, path: Path) -> Path:
        """Move a sealed segment into ``failed/`` (keeping its name, which no other segment in
        either folder has); refuses, with FileExistsError, to replace anything."""
        with self._io:
            number = int(_SEGMENT.match(path.name).group(1))  # type: ignore[union-attr]
            if number >= self._number:
                raise ValueError(f"{path.name} is not sealed")
        failed = self.directory / FAILED
        failed.mkdir(exist_ok=True)
        target = failed / path.name
        move_no_clobber(path, target, sync=self.sync)
        return target

    def seal_list(self) -> list[Path]:
        """The sealed segments, without sealing the current one."""
        with self._io:
            current = self._number
        return [path for number, path in segments(self.directory) if number < current]

    def seal_all(self) -> list[Path]:
        """After :meth:`close`: every segment left, the last one included."""
        return [path for _, path in segments(self.directory)]

    @property
    def unsealed_events(self) -> int:
        return self._events

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        with self._io:
            os.close(self._fd)
            if self._events == 0:
                (self.directory / segment_name(self._number)).unlink(missing_ok=True)
