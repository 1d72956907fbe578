"""The closing-note figure: CDNOW's monthly first-order retention for 1997, against pandas."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from userops.analytics.retention import RetentionQuery, retention
from userops.config import Settings
from userops.hub import Hub, connect
from userops.ingest.cdnow import import_cdnow


@pytest.fixture(scope="module")
def cdnow(cdnow_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("cdnow-wh") / "data")
    with connect(settings) as hub:
        import_cdnow(
            engine=hub.engine,
            warehouse=hub.warehouse,
            rejects_dir=settings.rejects_dir,
            path=cdnow_dir / "CDNOW_master.txt",
        )
        yield hub


def test_monthly_first_order_retention_1997(cdnow: Hub, cdnow_dir: Path) -> None:
    query = RetentionQuery(
        period="month",
        intervals=12,
        start_event="first_order",
        return_event="order",
        mode="first_time",
        date_to=date(1997, 12, 31),
    )
    got = retention(cdnow.warehouse, timezone="Asia/Shanghai", query=query)
    raw = pd.read_csv(
        cdnow_dir / "CDNOW_master.txt",
        sep=r"\s+",
        header=None,
        skiprows=1,
        names=["customer", "day", "quantity", "amount"],
        dtype={"day": str},
    )
    raw["month"] = pd.to_datetime(raw.day, format="%Y%m%d").dt.to_period("M")
    first = raw.groupby("customer").month.min()
    want = []
    for i in range(12):
        c = pd.Period("1997-01", "M") + i
        members = set(first[first == c].index)
        row = [len(members)]
        for k in range(1, 12 - i):
            row.append(len(members & set(raw[raw.month == c + k].customer)))
        want.append(row)
    assert [c.counts for c in got.cohorts] == want
    # CDNOW's cohort: everybody's first purchase is in the first quarter of 1997
    assert [c.size for c in got.cohorts[:3]] == [7846, 8476, 7248]
    assert sum(c.size for c in got.cohorts[3:]) == 0
