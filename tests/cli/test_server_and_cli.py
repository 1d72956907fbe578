"""The embedded default with two processes: a CLI import while `userops serve` runs goes through
the server (no lock error, nothing lost), and a CLI command started first makes the server wait.
Also: a kill -9 in the middle of an import leaves the earlier data, and a re-run completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from tests.conftest import write
from tests.support import free_port

USEROPS = [sys.executable, "-m", "userops"]


def cli(*args: str, data_dir: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*USEROPS, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"userops {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def start_server(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "USEROPS_ADMIN_PASSWORD": "demo-password-1"}
    return subprocess.Popen(
        [*USEROPS, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def make_orders(path: Path, n: int, *, start: int = 0) -> Path:
    duckdb.connect().execute(
        f"COPY (SELECT 'o' || i AS order_id, 'c' || (i % 5000) AS customer_id, "
        "TIMESTAMPTZ '2025-01-01 00:00:00+00' + INTERVAL (i) MINUTE AS created_at, "
        "TIMESTAMPTZ '2025-01-01 00:05:00+00' + INTERVAL (i) MINUTE AS paid_at, "
        "'paid' AS status, (1000 + i % 90000)::BIGINT AS amount_fen, 0::BIGINT AS discount_fen, "
        f"'app' AS channel FROM range({start}, {start + n}) t(i)) TO '{path}' (FORMAT parquet)"
    )
    return path


def test_cli_import_while_server_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port)
    try:
        wait_healthy(url, server)
        assert (data_dir / "server.json").exists()
        first = make_orders(tmp_path / "a.parquet", 50_000)
        second = make_orders(tmp_path / "b.parquet", 50_000, start=50_000)
        # two CLI imports at the same time, both while the server holds the warehouse
        procs = [
            subprocess.Popen(
                [*USEROPS, "import", "orders", str(f), "--json", "--data-dir", str(data_dir)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for f in (first, second)
        ]
        outputs = [p.communicate(timeout=300) for p in procs]
        for proc, (out, errout) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, errout
            assert "lock" not in errout.lower()
            assert json.loads(out)["orders"]["imported"] == 50_000
        stats = json.loads(cli("stats", "--json", data_dir=data_dir).stdout)
        assert stats["orders"] == 100_000 and stats["customers"] == 5_000
        key = json.loads(
            cli("keys", "create", "--scope", "read", "--json", data_dir=data_dir).stdout
        )["key"]
        found = httpx.get(f"{url}/api/v1/customers/c7", headers={"authorization": f"Bearer {key}"})
        assert found.status_code == 200
        assert found.json()["totals"]["orders"] == 20
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert not (data_dir / "server.json").exists()
    # after the server stopped, the CLI opens the warehouse itself and sees the same data
    assert json.loads(cli("stats", "--json", data_dir=data_dir).stdout)["orders"] == 100_000


def test_server_waits_for_a_running_cli_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    cli("init", data_dir=data_dir)
    big = make_orders(tmp_path / "big.parquet", 400_000)
    importer = subprocess.Popen(
        [*USEROPS, "import", "orders", str(big), "--json", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    lock = data_dir / "warehouse.lock"  # `init` made it; wait until the import holds it
    while time.monotonic() < deadline and "userops import orders" not in (
        lock.read_text() if lock.exists() else ""
    ):
        time.sleep(0.05)
    port = free_port()
    server = start_server(data_dir, port)
    try:
        _, errout = importer.communicate(timeout=300)
        assert importer.returncode == 0, errout
        wait_healthy(f"http://127.0.0.1:{port}", server)
        stats = json.loads(cli("stats", "--json", data_dir=data_dir).stdout)
        assert stats["orders"] == 400_000
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


@pytest.mark.slow
def test_kill_during_import_keeps_data_and_rerun_completes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    cli("init", data_dir=data_dir)
    small = write(
        tmp_path / "first.csv",
        "order_id,customer_id,created_at,paid_at,status,amount_fen\n"
        "keep-1,c1,2025-01-01,2025-01-01,paid,100\n",
    )
    cli("import", "orders", str(small), data_dir=data_dir)
    big = make_orders(tmp_path / "big.parquet", 2_000_000)
    proc = subprocess.Popen(
        [*USEROPS, "import", "orders", str(big), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3.0)  # in the middle of staging/checking/storing
    assert proc.poll() is None, "the import finished before it could be killed; make it bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stats = json.loads(cli("stats", "--json", data_dir=data_dir).stdout)
    assert stats["orders"] in (1, 2_000_001)  # all or nothing, earlier data intact
    rerun = json.loads(cli("import", "orders", str(big), "--json", data_dir=data_dir).stdout)
    assert rerun["orders"]["imported"] + stats["orders"] - 1 == 2_000_000
    stats = json.loads(cli("stats", "--json", data_dir=data_dir).stdout)
    assert stats["orders"] == 2_000_001


def test_demo_builds_a_shop_with_tags_and_segments(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    proc = cli(
        "demo",
        "--customers",
        "2500",
        "--days",
        "180",
        "--seed",
        "3",
        "--no-serve",
        "--json",
        data_dir=data_dir,
    )
    result = json.loads(proc.stdout)
    stats = result["stats"]
    assert stats["customers"] == 2500 and stats["orders"] > 0 and stats["events"] > 10_000
    assert stats["spend"] > 0 and stats["order_items"] >= stats["orders"]
    files = ("customers", "orders", "order_items", "events", "spend")
    assert all(result["imports"][k]["rejected"] == 0 for k in files)
    assert "skipped" not in result["imports"]["predict.fit"]
    assert "skipped" not in result["imports"]["recommend.train"]
    assert sum(result["imports"]["tags"]["lifecycle"].values()) == 2500
    segments = json.loads(cli("segment", "list", "--json", data_dir=data_dir).stdout)
    assert {s["name"] for s in segments["segments"]} == {
        "vip",
        "winback-sms",
        "beauty-browsers",
        "at-risk-valuable",
    }
    # the same seed gives the same shop
    again = json.loads(
        cli(
            "demo",
            "--customers",
            "2500",
            "--days",
            "180",
            "--seed",
            "3",
            "--no-serve",
            "--json",
            data_dir=tmp_path / "again",
        ).stdout
    )
    assert again["stats"] == stats


def test_every_operation_is_reachable_by_its_prefix() -> None:
    from userops.jobs import ops
    from userops.jobs.registry import OPERATIONS

    ops.load_all()
    for name in OPERATIONS:
        assert ops._MODULES.get(ops._prefix(name)) == OPERATIONS[name].__module__, name
