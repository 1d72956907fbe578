"""Shared analytics fixtures: a small demo shop (imported through the real importers) and
CDNOW (fetched as tests/ingest/test_cdnow.py does)."""

from __future__ import annotations

from datetime import date

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
