"""The clock is ``userops.core.clock.utcnow()`` (issue 9, item 21): ``USEROPS_NOW`` freezes every
"now" in userops only if nothing else asks the system for the wall-clock time."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "userops"
CLOCK = PACKAGE / "core" / "clock.py"
WALL_CLOCK = re.compile(r"\bdatetime\.(?:now|utcnow|today)\(|\btime\.time\(\)|\bdate\.today\(")
"""Wall-clock reads; ``time.monotonic()`` and ``time.perf_counter()`` (durations) are fine."""
PENDING: set[Path] = set()
"""Files allowed to read the wall clock while they are rewritten — shrink only (empty now)."""


def wall_clock_reads(root: Path, skip: set[Path]) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == CLOCK or path in skip:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if WALL_CLOCK.search(line.split("#", 1)[0]):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_nothing_outside_core_clock_reads_the_wall_clock() -> None:
    assert wall_clock_reads(PACKAGE, PENDING) == []


def test_the_scan_sees_each_way_of_reading_the_wall_clock(tmp_path: Path) -> None:
    rogue = tmp_path / "rogue.py"
    rogue.write_text(
        "import datetime as dt, time\n"
        "a = dt.datetime.now(dt.UTC)\n"
        "b = datetime.utcnow()\n"
        "c = time.time()\n"
        "d = date.today()\n"
        "e = time.monotonic()  # a duration: allowed\n"
        "f = utcnow()\n"
    )
    found = wall_clock_reads(tmp_path, set())
    assert [line.split(":")[1] for line in found] == ["2", "3", "4", "5"]


def test_the_pending_files_still_exist() -> None:
    # an entry for a file that moved or vanished would silently exempt nothing
    assert all(path.exists() for path in PENDING)
