"""A small demo shop (customers, orders, items, events) imported into a data dir."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from userops.config import Settings
from userops.demo.generate import generate_shop, write_shop
from userops.hub import connect
from userops.jobs import ops

ENTITIES = ("customers", "orders", "order-items", "events")


def build_shop(data_dir: Path, *, customers: int = 3000, days: int = 180) -> Settings:
    settings = Settings(data_dir=data_dir)
    shop = generate_shop(customers=customers, days=days, seed=11, end=dt.date(2025, 12, 1))
    files = write_shop(shop, settings.ensure_data_dir() / "demo")
    with connect(settings) as hub:
        for entity in ENTITIES:
            ops.run(hub, "import", {"entity": entity, "path": str(files[entity])}, lambda *_: None)
    return settings


@pytest.fixture(scope="module")
def shop_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_shop(tmp_path_factory.mktemp("recommend") / "data")
