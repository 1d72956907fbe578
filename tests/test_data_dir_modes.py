"""The data dir is 0700 and every file in it 0600 after real use: a server started by
``userops serve`` under a loose umask (022), a customers import with a rejected row, tracked
events loaded from the journal; and a data dir left with loose modes is tightened at open."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.support import free_port

from userops.config import Settings
from userops.core.files import private_umask
from userops.hub import connect

USEROPS = [sys.executable, "-m", "userops"]
CUSTOMERS = """\
customer_id,name,phone,signup_at
c1,张三,13800000001,2024-02-28T10:00:00+08:00
c2,李四,13900000002,not-a-date
"""


def modes(root: Path) -> dict[str, int]:
    """Every path under ``root`` (and ``root`` itself as ".") with its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def loose(found: dict[str, int], root: Path) -> list[str]:
    """Paths that are not 0700 (folders) or 0600 (files)."""
    bad = []
    for name, mode in found.items():
        wanted = 0o700 if (root / name).is_dir() else 0o600
        if mode != wanted:
            bad.append(f"{name}: {mode:o}")
    return bad


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*USEROPS, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        umask=0o022,
    )
    assert done.returncode == 0, f"userops {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


@contextmanager
def serving(data_dir: Path) -> Iterator[str]:
    """``userops serve`` on ``data_dir``, started with umask 022; stopped with Ctrl-C."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "USEROPS_ADMIN_PASSWORD": "modes-password-1"}
    env.pop("USEROPS_LEDGER_URL", None)  # the SQLite ledger in the data dir
    server = subprocess.Popen(
        [*USEROPS, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        umask=0o022,
    )
    try:
        wait_for(lambda: _healthy(url), what="/healthz", timeout=90)
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(check: object, *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"no {what} after {timeout:.0f} s"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_used_data_dir_is_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    source = tmp_path / "customers.csv"
    source.write_text(CUSTOMERS, encoding="utf-8")
    with serving(data_dir) as url:
        # given: an import with a rejected row, through the running server
        result = cli("import", "customers", str(source), "--json", data_dir=data_dir)
        assert json.loads(result.stdout)["customers"]["rejected"] == 1
        # and tracked events, acknowledged and loaded into the warehouse
        created = cli("keys", "create", "--scope", "write", "--json", data_dir=data_dir)
        key = json.loads(created.stdout)["key"]
        for n in range(5):
            sent = httpx.post(
                f"{url}/v1/track",
                json={"userId": "c1", "event": "product_view", "messageId": f"m-{n}"},
                auth=(key, ""),
                timeout=10,
            )
            assert sent.status_code == 200, sent.text
        checkpoint = data_dir / "tracking" / "checkpoint.json"
        wait_for(checkpoint.exists, what="tracking checkpoint")
        # then: while the server runs, everything is owner-only
        running = modes(data_dir)
    stopped = modes(data_dir)

    expected = {
        ".",
        "ledger.sqlite3",
        "warehouse.duckdb",
        "secret_key",
        "server.json",
        "rejects",
        "tracking",
        "tracking/journal",
        "tracking/checkpoint.json",
    }
    assert expected <= set(running), sorted(running)
    assert {"ledger.sqlite3-wal", "ledger.sqlite3-shm"} <= set(running)
    assert [n for n in running if n.startswith("rejects/")], "no rejects file written"
    assert [n for n in running if n.startswith("tracking/journal/")], "no journal segment"
    assert loose(running, data_dir) == []
    # and after the server stopped (DuckDB's WAL checkpointed, SQLite's files closed)
    assert loose(stopped, data_dir) == []


def test_a_loose_data_dir_is_tightened_at_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a data dir used once, then opened up (an older version, a careless copy)
    settings = Settings(data_dir=tmp_path / "data")
    with connect(settings) as hub:
        hub.warehouse.count("events")
    (settings.resolved_data_dir / "rejects").mkdir()
    (settings.resolved_data_dir / "rejects" / "old.csv").write_text("x\n")
    for path in [settings.resolved_data_dir, *settings.resolved_data_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert loose(modes(settings.resolved_data_dir), settings.resolved_data_dir) != []
    # when
    caplog.set_level(logging.WARNING, logger="userops.files")
    with connect(settings):
        pass
    # then
    assert loose(modes(settings.resolved_data_dir), settings.resolved_data_dir) == []
    assert any("owner-only" in record.getMessage() for record in caplog.records)


def test_private_umask_is_shared_and_restored() -> None:
    before = os.umask(0o022)
    try:
        with private_umask():
            with private_umask():
                assert _current_umask() == 0o077
            assert _current_umask() == 0o077  # still held by the outer holder
        assert _current_umask() == 0o022
    finally:
        os.umask(before)


def _current_umask() -> int:
    value = os.umask(0)
    os.umask(value)
    return value
