"""CLI start-up (issue 9, item 15): ``userops --help`` and ``userops stats`` must not import the
heavy libraries. Checked through ``python -X importtime`` (what was imported), not a time
threshold, which would be flaky on a shared CI machine; bench/README.md has the timings."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {
    "alembic",
    "duckdb",
    "fastapi",
    "httpx",
    "ibis",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic_settings",
    "scipy",
    "sqlalchemy",
    "starlette",
    "uvicorn",
}
"""Top-level packages ``--help`` must not import."""

STATS_MAY_USE = {"duckdb", "pydantic_settings"}
"""``stats`` reads the warehouse with DuckDB and the settings with pydantic-settings; a SQLite
ledger is read with the standard library."""


def imported(*args: str, cwd: Path | None = None) -> tuple[set[str], str]:
    """Top-level packages imported by ``python -m userops ARGS``, and its stdout."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "userops", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return names, proc.stdout


@pytest.mark.parametrize("args", [("--help",), ("report", "--help"), ("tags", "--help")])
def test_help_imports_no_heavy_library(args: tuple[str, ...]) -> None:
    names, out = imported(*args)
    assert "Usage" in out
    assert names & HEAVY == set(), sorted(names & HEAVY)


def test_stats_reads_counts_without_ibis_orm_or_scipy(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init = subprocess.run(
        [sys.executable, "-m", "userops", "init", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    names, out = imported("stats", "--json", "--data-dir", str(data_dir))
    assert json.loads(out) == {
        "customers": 0,
        "orders": 0,
        "order_items": 0,
        "events": 0,
        "spend": 0,
    }
    assert names & (HEAVY - STATS_MAY_USE) == set(), sorted(names & HEAVY)


def test_lazy_sub_apps_show_their_own_help() -> None:
    """``userops --help`` lists lazy groups with the line kept in SUB_APPS: it must stay the
    group's own help."""
    from userops.cli.main import SUB_APPS

    for name, (target, short_help) in SUB_APPS.items():
        module, _, attribute = target.partition(":")
        sub_app = getattr(importlib.import_module(module), attribute)
        assert sub_app.info.help == short_help, name
