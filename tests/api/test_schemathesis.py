"""Schemathesis against a real ``userops serve`` on a small demo shop: every check it has (the
repository's schemathesis.toml lists the few per-operation exceptions and why), no 5xx, no
contract failure. Bounded (examples per operation, one seed) so that it runs in CI in well
under three minutes; ``USEROPS_SCHEMATHESIS_EXAMPLES`` raises the bound for a deeper run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
USEROPS = [sys.executable, "-m", "userops"]
EXAMPLES = os.environ.get("USEROPS_SCHEMATHESIS_EXAMPLES", "15")

pytestmark = pytest.mark.slow


def userops(*args: str, data_dir: Path) -> str:
    proc = subprocess.run(
        [*USEROPS, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"userops {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A throwaway data dir with a demo shop, an admin key, and ``userops serve`` over it."""
    base = tmp_path_factory.mktemp("schemathesis")
    data_dir = base / "data"
    userops("demo", "--customers", "300", "--days", "60", "--no-serve", data_dir=data_dir)
    key = json.loads(userops("keys", "create", "--scope", "admin", "--json", data_dir=data_dir))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = base / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*USEROPS, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the server exited: {log.read_text()}"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no /healthz in 60 s: {log.read_text()}"
            time.sleep(0.2)
        yield url, key["key"], log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_schemathesis_finds_no_server_error_and_no_contract_failure(
    server: tuple[str, str, Path], tmp_path: Path
) -> None:
    url, key, log = server
    runner = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert runner, "schemathesis is not installed (pip install -e '.[test]')"
    started = time.monotonic()
    proc = subprocess.run(
        [
            runner,
            "--config-file",
            str(ROOT / "schemathesis.toml"),
            "run",
            f"{url}/openapi.json",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "20261202",
            "--workers",
            "1",  # CPython 3.11 < 3.11.8 can fail ast.parse in threads (hypothesis uses it)
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        env={**os.environ, "USEROPS_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.monotonic() - started
    output = proc.stdout[-20_000:]
    assert proc.returncode == 0, (
        f"{output}\n{proc.stderr[-4000:]}\nserver log:\n{log.read_text()[-4000:]}"
    )
    assert "Internal Server Error" not in output
    assert "operations" in output.lower() or "Operations" in output
    print(f"schemathesis: {seconds:.0f} s, {EXAMPLES} examples per operation")  # in -s runs
