"""Commands a newcomer trips on (issue 9, items 13 and 14): only demo, serve and init create a
data dir; others say where they looked. A command that waits for the data dir says for whom,
and Ctrl-C or SIGTERM ends the wait at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from tests.cli.test_server_and_cli import make_orders, wait_healthy
from tests.conftest import write
from tests.support import free_port

USEROPS = [sys.executable, "-m", "userops"]


def env_without_data_dir(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("USEROPS_")}
    return {**env, **extra}


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*USEROPS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_commands_outside_a_shop_create_nothing_and_say_where_they_looked(
    tmp_path: Path,
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    orders = write(
        tmp_path / "orders.csv",
        "order_id,customer_id,created_at,paid_at,status,amount_fen\n"
        "o1,c1,2025-01-01,2025-01-01,paid,100\n",
    )
    commands = [
        ("import", "orders", str(orders)),
        ("keys", "create", "--scope", "read"),
        ("stats",),
        ("tags", "refresh"),
        ("report", "retention"),
    ]
    elsewhere = tmp_path / "elsewhere" / "shop"
    for env, looked_in in (
        (env_without_data_dir(), cwd / "userops-data"),
        (env_without_data_dir(USEROPS_DATA_DIR=str(elsewhere)), elsewhere),
    ):
        for command in commands:
            proc = run(*command, "--json", cwd=cwd, env=env)
            assert proc.returncode != 0, command
            error = json.loads(proc.stdout)["error"]
            assert error["code"] == "not_found" and error["field"] == "data_dir", command
            assert str(looked_in) in error["message"], error["message"]
            if "USEROPS_DATA_DIR" in env:
                assert f"USEROPS_DATA_DIR={elsewhere}" in error["message"]
            assert "uo_" not in proc.stdout + proc.stderr  # no key printed
            assert "no userops shop found" in proc.stderr
        assert list(cwd.iterdir()) == [], command
        assert not (tmp_path / "elsewhere").exists(), command
    # --data-dir is where it looks too
    proc = run("stats", "--data-dir", str(tmp_path / "given"), cwd=cwd, env=env_without_data_dir())
    assert proc.returncode != 0 and str(tmp_path / "given") in proc.stderr
    assert not (tmp_path / "given").exists()


def test_init_creates_an_empty_shop_that_commands_then_use(tmp_path: Path) -> None:
    env = env_without_data_dir()
    first = run("init", "--json", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"data_dir": str(tmp_path / "userops-data"), "created": True}
    again = run("init", "--json", cwd=tmp_path, env=env)
    assert json.loads(again.stdout)["created"] is False
    stats = run("stats", "--json", cwd=tmp_path, env=env)
    assert json.loads(stats.stdout) == {
        "customers": 0,
        "orders": 0,
        "order_items": 0,
        "events": 0,
        "spend": 0,
    }


def test_keys_create_stores_the_key_where_the_running_server_reads(tmp_path: Path) -> None:
    """The server keeps its ledger outside the data dir (USEROPS_LEDGER_URL); a CLI started
    without that variable must still print a key the server accepts."""
    data_dir = tmp_path / "data"
    ledger = tmp_path / "elsewhere.sqlite3"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = popen(
        "serve", "--port", str(port), "--data-dir", str(data_dir),
        USEROPS_LEDGER_URL=f"sqlite:///{ledger}",
    )  # fmt: skip
    try:
        wait_healthy(url, server)
        proc = run(
            "keys", "create", "--scope", "read", "--json", "--data-dir", str(data_dir),
            cwd=tmp_path, env=env_without_data_dir(),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        key = json.loads(proc.stdout)["key"]
        answer = httpx.get(
            f"{url}/api/v1/customers?query=x", headers={"authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 200, answer.text
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


class Output:
    """Collects a process's merged output line by line while it runs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never appeared in:\n{self.text}")
            time.sleep(0.05)

    def finish(self) -> str:
        self._thread.join(timeout=5)
        return self.text


def popen(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*USEROPS, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "USEROPS_ADMIN_PASSWORD": "demo-password-1", **env},
    )


def stops_within(proc: subprocess.Popen[str], sig: int, seconds: float) -> float:
    sent = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=seconds + 10)
    return time.monotonic() - sent


def test_waiting_serve_and_cli_command_say_for_whom_and_stop_on_signals(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init = run("init", "--data-dir", str(data_dir), cwd=tmp_path, env=os.environ.copy())
    assert init.returncode == 0, init.stderr
    big = make_orders(tmp_path / "big.parquet", 4_000_000)
    importer = subprocess.Popen(
        [*USEROPS, "import", "orders", str(big), "--json", "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock = data_dir / "warehouse.lock"
        deadline = time.monotonic() + 60
        while "userops import orders" not in (lock.read_text() if lock.exists() else ""):
            assert time.monotonic() < deadline and importer.poll() is None
            time.sleep(0.05)
        port = free_port()
        server = popen("serve", "--port", str(port), "--data-dir", str(data_dir))
        stats = popen("stats", "--json", "--data-dir", str(data_dir))
        server_out, stats_out = Output(server), Output(stats)
        expected = f"waiting for `userops import orders` (pid {importer.pid}"
        server_out.wait_for(expected)
        stats_out.wait_for(expected)
        assert importer.poll() is None, "the import ended before the waiters could be signalled"

        assert stops_within(server, signal.SIGTERM, 2) < 2
        assert stops_within(stats, signal.SIGINT, 2) < 2
        for proc, output in ((server, server_out.finish()), (stats, stats_out.finish())):
            assert proc.returncode != 0
            assert "stopped while waiting for `userops import orders`" in output, output
            # the wait message comes before the console URL, here instead of it
            assert "userops console:" not in output
        stats_json = json.loads(next(line for line in stats_out.lines if line.startswith("{")))
        assert stats_json["error"]["code"] == "stopped"
        assert importer.poll() is None  # the holder was left alone
    finally:
        importer.kill()
        importer.wait()
